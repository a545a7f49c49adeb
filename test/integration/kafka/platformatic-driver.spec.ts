// Guards what the platformatic driver reads from @platformatic/kafka beyond its typed API (how it
// reports a missing topic, where a failed topic is named in a CreateTopics error) and what it works
// around (commit() rejoining the group itself): these fail loudly
// when a new version of the library changes them. Runs on the Node.js versions the library supports.
import { randomUUID } from 'node:crypto';
import { Consumer } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaDriver, platformaticSupportsNode } from '../../../lib/kafka/driver/create-driver.js';
import type { DriverAdmin, DriverProducer, KafkaDriver } from '../../../lib/kafka/driver/kafka-driver.js';
import { rejoinOnlyByHeartbeat } from '../../../lib/kafka/platformatic/platformatic-consumer.js';
import { KAFKA_BROKERS } from '../brokers.js';

describe.runIf(platformaticSupportsNode(process.version))(
  'platformatic driver on @platformatic/kafka',
  () => {
    const prefix = `t-plt-${randomUUID().slice(0, 8)}`;
    let driver: KafkaDriver;
    let admin: DriverAdmin;
    let producer: DriverProducer;

    beforeAll(async () => {
      // one retry: a produce to a missing topic is retried with backoff, and the error is what is tested
      const options = { brokers: KAFKA_BROKERS, clientId: prefix, retry: { retries: 1 } };
      driver = await createKafkaDriver('platformatic', options, 'test');
      admin = driver.admin();
      await admin.connect();
      producer = driver.producer({});
      await producer.connect();
    });

    afterAll(async () => {
      await producer?.disconnect();
      await admin?.disconnect();
    });

    it('reports a produce to a missing topic as unknown-topic', async () => {
      const err = await producer
        .send([{ topic: `${prefix}.missing`, value: Buffer.from('x'), headers: {} }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(driver.errorKind(err)).toBe('unknown-topic');
    });

    it('finds no partitions for a missing topic, and the count of an existing one', async () => {
      await admin.createTopics([{ topic: `${prefix}.three`, numPartitions: 3, replicationFactor: -1 }]);
      const counts = await admin.partitionCounts([`${prefix}.three`, `${prefix}.missing`]);
      expect([...counts]).toEqual([[`${prefix}.three`, 3]]);
    });

    it('names the refused topic and the broker’s reason when topic creation fails', async () => {
      const err = await admin
        .createTopics([
          { topic: `${prefix}.ok`, numPartitions: 1, replicationFactor: -1 },
          { topic: `${prefix}.refused`, numPartitions: 1, replicationFactor: 3 },
        ])
        .catch((e: unknown) => e);
      expect(driver.explain(err)).toMatch(new RegExp(`${prefix}\\.refused: [^;]*replicat`));
      expect(driver.explain(err)).not.toContain(`${prefix}.ok:`);
    });

    /**
     * A commit the broker refuses for a stale generation (ILLEGAL_GENERATION, as after a rebalance the
     * member has not noticed yet). The heartbeat is slow enough (15 s) not to notice within the test.
     */
    async function staleCommit(guarded: boolean): Promise<{ result: unknown; generations: number[] }> {
      const topic = `${prefix}.commits-${guarded ? 'guarded' : 'library'}`;
      await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: -1 }]);
      const consumer = new Consumer({
        clientId: prefix,
        bootstrapBrokers: KAFKA_BROKERS,
        groupId: `${topic}.group`,
        sessionTimeout: 45_000,
        heartbeatInterval: 15_000,
        autocommit: false,
      });
      const generations: number[] = [];
      consumer.on('consumer:group:join', () => generations.push(consumer.generationId));
      try {
        consumer.topics.trackAll(topic);
        await consumer.joinGroup({});
        if (guarded) rejoinOnlyByHeartbeat(consumer);
        const current = consumer.generationId;
        consumer.generationId = current - 1;
        const result = await consumer
          .commit({ offsets: [{ topic, partition: 0, offset: 0n, leaderEpoch: -1 }] })
          .then(
            () => 'committed',
            (e: unknown) => e,
          );
        if (consumer.generationId === current - 1) consumer.generationId = current;
        return { result, generations };
      } finally {
        await consumer.close(true);
      }
    }

    it('rejoins the group from inside commit() when a commit is refused for a stale generation (what rejoinOnlyByHeartbeat works around)', async () => {
      // If this fails, the library no longer rejoins from commit(): rejoinOnlyByHeartbeat can go.
      const { result, generations } = await staleCommit(false);
      expect(result).toBe('committed');
      expect(generations).toHaveLength(2);
      expect(generations[1]).toBeGreaterThan(generations[0]!);
    });

    it('with rejoinOnlyByHeartbeat, a refused commit fails and leaves the group alone', async () => {
      const { result, generations } = await staleCommit(true);
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(/rebalancing group/);
      expect(generations).toHaveLength(1);
    });

    it("the driver's consumer commits without rejoining: a commit refused for a stale generation fails", async () => {
      const topic = `${prefix}.commits-driver`;
      await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: -1 }]);
      const consumer = driver.consumer({
        groupId: `${topic}.group`,
        sessionTimeout: 45_000,
        heartbeatInterval: 15_000,
        maxWaitTimeInMs: 100,
        maxBytesPerPartition: 1024 * 1024,
      });
      let joins = 0;
      try {
        await consumer.subscribe([topic], { fromBeginning: true });
        await consumer.run(() => 0, { assigned: () => joins++ }, 30_000);
        // the library's consumer inside ours: the generation is made stale by hand
        const library = (consumer as unknown as { consumer: Consumer }).consumer;
        library.generationId--;
        const result = await consumer.commit([{ topic, partition: 0, offset: '0' }]).catch((e: unknown) => e);
        library.generationId++;
        expect(result).toBeInstanceOf(Error);
        expect(joins).toBe(1);
      } finally {
        await consumer.disconnect();
      }
    });

    it('reports a record too large for the topic as too-large', async () => {
      await admin.createTopics([{ topic: `${prefix}.big`, numPartitions: 1, replicationFactor: -1 }]);
      const limit = Number(await admin.topicConfig(`${prefix}.big`, 'max.message.bytes'));
      expect(limit).toBeGreaterThan(0);
      const err = await producer
        .send([{ topic: `${prefix}.big`, value: Buffer.alloc(limit + 1024), headers: {} }])
        .catch((e: unknown) => e);
      expect(driver.errorKind(err)).toBe('too-large');
    });
  },
);
