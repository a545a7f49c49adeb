// Reply addresses are input, on Kafka: replies to the server's own request topics (named in `reply_to`
// or Nest-style `kafka_replyTopic`) are refused, `replyTo.allow` admits the client's reply topic, and
// a handler echoing request headers cannot forward the Nest/Spring reply-routing headers.
import { type INestMicroservice } from '@nestjs/common';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaRpcClient, type KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { replyPolicyController } from '../support/reply-policy.controller.js';
import { replyAddressTests } from '../support/reply-policy.js';
import { EventLog } from '../support/sync.js';
import { cleanUp, rawKafka, startServer, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('reply');
const allowPrefix = `${prefix}a`;
const log = new EventLog();
const allowLog = new EventLog();
const serverOf = (app: INestMicroservice) =>
  (app as unknown as { serverInstance: KafkaRpcServer }).serverInstance;

describe('Kafka reply addresses', () => {
  let apps: INestMicroservice[] = [];
  let client: KafkaRpcClient;
  let allowClient: KafkaRpcClient;
  let admin: Admin;
  let producer: Producer;
  let rawReplies: Consumer;
  const foreign = `${allowPrefix}.foreign`;
  const rawReplyTopic = `${prefix}.raw.replies`;
  const replies = new Map<string, KafkaMessage>();

  beforeAll(async () => {
    const kafka = rawKafka(`${prefix}-raw`);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: foreign, numPartitions: 1 },
        { topic: rawReplyTopic, numPartitions: 1 },
      ],
    });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    rawReplies = kafka.consumer({ groupId: `${prefix}-raw-replies`, maxWaitTimeInMs: 50 });
    await rawReplies.connect();
    await rawReplies.subscribe({ topic: rawReplyTopic, fromBeginning: true });
    await rawReplies.run({
      eachMessage: async ({ message }) => {
        replies.set(String(message.headers?.['correlation_id']), message);
      },
    });
    client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gw`, logLevel: 'nothing' },
    });
    allowClient = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${allowPrefix}-gw`, logLevel: 'nothing' },
    });
    // one at a time: topic creation right after another's can find the new topic's metadata not there yet
    const a = await startServer([replyPolicyController(prefix, log)], {
      groupId: `${prefix}-svc`,
      topics: { numPartitions: 1 },
    });
    const b = await startServer([replyPolicyController(allowPrefix, allowLog)], {
      groupId: `${allowPrefix}-svc`,
      topics: { numPartitions: 1 },
      replyTo: { allow: [`${allowPrefix}-gw.replies`, `${allowPrefix}.result`] },
    });
    await client.connect();
    await allowClient.connect();
    apps = [a, b];
  });

  afterAll(async () => {
    await Promise.all([client?.close(), allowClient?.close()]);
    await Promise.all(apps.map((a) => a.close()));
    await rawReplies?.disconnect();
    await producer?.disconnect();
    await admin?.disconnect();
    await cleanUp(prefix);
  });

  const rawRequest = async (topic: string, headers: Record<string, string>) => {
    await producer.send({
      topic,
      messages: [{ value: '1', headers: { 'content-type': 'application/json', ...headers } }],
    });
  };

  replyAddressTests({
    prefix,
    log,
    server: () => serverOf(apps[0]!),
    client: () => client,
    rawRequest: (destination, replyTo) =>
      rawRequest(destination, { reply_to: replyTo, correlation_id: 'raw-1' }),
    allowList: {
      prefix: allowPrefix,
      log: allowLog,
      server: () => serverOf(apps[1]!),
      clients: () => [allowClient],
      foreign,
      publishedToForeign: async () => {
        const [offsets] = await admin.fetchTopicOffsets(foreign);
        return Number(offsets!.high);
      },
    },
  });

  it('refuses a Nest-style kafka_replyTopic naming one of its request topics', async () => {
    const server = serverOf(apps[0]!);
    const before = server.counters.replyAddressesRefused;
    await rawRequest(`${prefix}.work`, {
      kafka_replyTopic: `${prefix}.target`,
      kafka_correlationId: 'nest-1',
    });
    await expect.poll(() => server.counters.replyAddressesRefused).toBe(before + 1);
  });

  it('does not let a handler echoing request headers forward the kafka_* reply-routing headers', async () => {
    await rawRequest(`${prefix}.echo-headers`, {
      reply_to: rawReplyTopic,
      correlation_id: 'echo-1',
      kafka_replyTopic: `${prefix}.target`,
      kafka_correlationId: 'forwarded',
      kafka_replyPartition: '0',
      'x-a': 'b',
    });
    await expect.poll(() => replies.has('echo-1'), { timeout: 15_000 }).toBe(true);
    const headers = replies.get('echo-1')!.headers!;
    expect(headers['x-a']?.toString()).toBe('b');
    expect(headers['kafka_replyTopic']).toBeUndefined();
    expect(headers['kafka_correlationId']).toBeUndefined();
    expect(headers['kafka_replyPartition']).toBeUndefined();
  });
});
