import { describe, expect, it } from 'vitest';
import { RpcPayloadTooLargeError } from '../../../lib/core/errors.js';
import type { DriverAdmin, DriverProducer, KafkaDriver } from '../../../lib/kafka/driver/kafka-driver.js';
import { KafkaProducing } from '../../../lib/kafka/kafka-publish.js';

const tooLarge = new Error('too large');

/** A driver whose admin and producer record their calls in one list, in order. */
function fakeDriver(calls: string[], options: { failDisconnect?: boolean } = {}): KafkaDriver {
  const disconnect = (who: string) => async () => {
    calls.push(`${who} disconnect`);
    if (options.failDisconnect) throw new Error(`${who} gone`);
  };
  const admin: DriverAdmin = {
    connect: async () => {},
    disconnect: disconnect('admin'),
    partitionCounts: async () => new Map(),
    createTopics: async () => {},
    endOffsets: async () => new Map(),
    committedOffsets: async () => new Map(),
    describeGroup: async () => ({ stable: true, members: [] }),
    topicConfig: async (topic, name) => {
      calls.push(`admin ${name} of ${topic}`);
      return '2000';
    },
  };
  const producer: DriverProducer = {
    connect: async () => {},
    disconnect: disconnect('producer'),
    send: async (records) => {
      calls.push(`send ${records.map((r) => r.topic).join(',')}`);
      if (records.some((r) => r.topic === 'big')) throw tooLarge;
    },
  };
  return {
    admin: () => admin,
    producer: () => producer,
    consumer: () => {
      throw new Error('not used');
    },
    errorKind: (err) => (err === tooLarge ? 'too-large' : 'other'),
    explain: String,
  };
}

describe('KafkaProducing', () => {
  it('closes the producer, then the admin, and ignores a failed disconnect', async () => {
    const calls: string[] = [];
    await new KafkaProducing(fakeDriver(calls, { failDisconnect: true })).close();
    expect(calls).toEqual(['producer disconnect', 'admin disconnect']);
  });

  it('sends through its producer and reads a refused topic size limit through its admin', async () => {
    const calls: string[] = [];
    const producing = new KafkaProducing(fakeDriver(calls));
    await producing.queue.push({ topic: 'small', value: new Uint8Array(1), headers: {} });
    const err = await producing.queue
      .push({ topic: 'big', value: new Uint8Array(3000), headers: {} })
      .catch((e: unknown) => producing.limits.toError(e, 'big', 'big.pattern', 3000));
    expect(err).toBeInstanceOf(RpcPayloadTooLargeError);
    expect(err).toMatchObject({ pattern: 'big.pattern', size: 3000, limit: 2000 });
    expect(calls).toEqual(['send small', 'send big', 'admin max.message.bytes of big']);
  });
});
