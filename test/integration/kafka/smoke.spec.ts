import { randomUUID } from 'node:crypto';
import kafkajs, { type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_BROKERS } from '../brokers.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

describe('Kafka broker smoke test', () => {
  const topic = `smoke-${randomUUID()}`;
  const groupId = `smoke-${randomUUID()}`;
  const kafka = new Kafka({
    clientId: 'smoke-test',
    brokers: KAFKA_BROKERS,
    connectionTimeout: 5_000,
    retry: { retries: 3 },
    logLevel: logLevel.ERROR,
  });
  let admin: Admin;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    if (admin) {
      await admin.deleteTopics({ topics: [topic] });
      if (consumer) await admin.deleteGroups([groupId]);
      await admin.disconnect();
    }
  });

  it('lists the new topic', async () => {
    expect(await admin.listTopics()).toContain(topic);
  });

  it('produces a message and consumes it back', async () => {
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const correlationId = randomUUID();
    await producer.send({
      topic,
      messages: [{ key: 'k1', value: 'hello', headers: { 'x-correlation-id': correlationId } }],
    });

    consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let resolveMessage!: (message: KafkaMessage) => void;
    const received = new Promise<KafkaMessage>((resolve) => (resolveMessage = resolve));
    await consumer.run({ eachMessage: async ({ message }) => resolveMessage(message) });
    const message = await received;

    expect(message.key?.toString()).toBe('k1');
    expect(message.value?.toString()).toBe('hello');
    expect(message.headers?.['x-correlation-id']?.toString()).toBe(correlationId);
  });
});
