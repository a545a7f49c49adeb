import kafkajs, { type Consumer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KAFKAJS_CONSUMER_METADATA_MAX_AGE_MS,
  KAFKAJS_PRODUCER_METADATA_MAX_AGE_MS,
  KafkajsConsumer,
  createKafkajsDriver,
} from '../../../lib/kafka/kafkajs/kafkajs-driver.js';

/** A kafkajs consumer whose `connect()` hangs until the test lets it finish. */
function slowConsumer() {
  let finishConnect!: () => void;
  const connected = new Promise<void>((resolve) => (finishConnect = resolve));
  let disconnected!: () => void;
  const disconnectedOnce = new Promise<void>((resolve) => (disconnected = resolve));
  const fake = {
    events: { GROUP_JOIN: 'group_join', CRASH: 'crash', REBALANCING: 'rebalancing' },
    on: () => () => undefined,
    connect: () => connected,
    subscribe: async () => undefined,
    run: async () => undefined,
    disconnect: async () => disconnected(),
  };
  return { consumer: fake as unknown as Consumer, finishConnect, disconnectedOnce };
}

describe('KafkajsConsumer.run', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('fails at the join timeout while kafkajs is still connecting, without an unhandled rejection', async () => {
    const fake = slowConsumer();
    const consumer = new KafkajsConsumer(() => fake.consumer, 100, 1_000);
    await consumer.subscribe(['t'], { fromBeginning: true });
    await expect(consumer.run(() => 0, {}, 20)).rejects.toThrow(/did not join its group within 20 ms/);
    // kafkajs's connect finishes late: the abandoned consumer is disconnected, nothing else happens.
    fake.finishConnect();
    await fake.disconnectedOnce;
    await new Promise((resolve) => setImmediate(resolve)); // one turn: Node reports unhandled rejections there
    expect(unhandled).toEqual([]);
  }, 2_000);
});

describe('createKafkajsDriver consumer', () => {
  it('refreshes the consumer metadata every 2 s, so a fetch retried against a dead leader finds the new one', async () => {
    // kafkajs's default is 300 s: a consumer retrying a killed leader kept its stale metadata until
    // its retries ran out (~10 s) and it crashed and rejoined (the chaos suite's leader kills)
    const fake = slowConsumer();
    const spy = vi.spyOn(kafkajs.Kafka.prototype, 'consumer').mockReturnValue(fake.consumer);
    try {
      const driver = createKafkajsDriver({ brokers: ['127.0.0.1:1'] }, 'test');
      const consumer = driver.consumer({
        groupId: 'g',
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxWaitTimeInMs: 100,
        maxBytesPerPartition: 1_000_000,
      });
      await consumer.subscribe(['t'], { fromBeginning: false });
      await expect(consumer.run(() => 0, {}, 20)).rejects.toThrow(/did not join/);
      expect(spy).toHaveBeenCalledWith(
        expect.objectContaining({ metadataMaxAge: KAFKAJS_CONSUMER_METADATA_MAX_AGE_MS }),
      );
      expect(KAFKAJS_CONSUMER_METADATA_MAX_AGE_MS).toBe(2_000);
      fake.finishConnect();
      await fake.disconnectedOnce;
    } finally {
      spy.mockRestore();
    }
  });
});

describe('createKafkajsDriver producer', () => {
  it('refreshes the producer metadata every 2 s, so sends stop going to a leader cut off by a partition', () => {
    // kafkajs's default is 300 s: a producer whose leader was partitioned away kept sending to it,
    // each send waiting out its request timeout (the chaos suite's leader-partition fault)
    const spy = vi.spyOn(kafkajs.Kafka.prototype, 'producer');
    try {
      createKafkajsDriver({ brokers: ['127.0.0.1:1'] }, 'test').producer({});
      expect(spy).toHaveBeenCalledWith(
        expect.objectContaining({ metadataMaxAge: KAFKAJS_PRODUCER_METADATA_MAX_AGE_MS }),
      );
      expect(KAFKAJS_PRODUCER_METADATA_MAX_AGE_MS).toBe(2_000);
    } finally {
      spy.mockRestore();
    }
  });
});
