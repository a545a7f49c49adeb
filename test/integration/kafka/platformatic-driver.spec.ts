// Guards what the platformatic driver reads from @platformatic/kafka beyond its typed API (how it
// reports a missing topic, where a failed topic is named in a CreateTopics error): these fail loudly
// when a new version of the library changes them. Runs on the Node.js versions the library supports.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaDriver, platformaticSupportsNode } from '../../../lib/kafka/driver/create-driver.js';
import type { DriverAdmin, DriverProducer, KafkaDriver } from '../../../lib/kafka/driver/kafka-driver.js';
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
