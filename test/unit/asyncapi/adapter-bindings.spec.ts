// What each adapter tells the AsyncAPI document: bindings, reply address and correlation id
// locations, headers. No broker needed: handlers are added as Nest adds them, nothing connects.
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument, type AsyncApiDocument, type RpcServer } from '../../../lib/index.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';

async function parserErrors(doc: AsyncApiDocument): Promise<string[]> {
  const diagnostics = await new Parser().validate(JSON.stringify(doc));
  return diagnostics
    .filter((d) => d.severity === 0)
    .map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
}

function withHandlers<T extends RpcServer>(server: T): T {
  const handler = Object.assign(async () => 1, { isEventHandler: false });
  server.addHandler('math.sum', handler);
  server.addHandler(
    'audit.log',
    Object.assign(async () => undefined, { isEventHandler: true }),
    true,
  );
  return server;
}

const reply = (doc: AsyncApiDocument, op: string) => doc.operations[op]!.reply as Record<string, any>;
const request = (doc: AsyncApiDocument) => doc.channels['math.sum']!.messages.request as Record<string, any>;

describe('AsyncAPI bindings of each adapter', () => {
  it('Kafka: topic bindings with partitions, the group id, reply_to and correlation_id headers, the reply topic', async () => {
    const server = withHandlers(
      new KafkaRpcServer({
        client: { brokers: ['localhost:9092'], clientId: 'math' },
        consumer: { groupId: 'math-workers' },
      }),
    );
    const client = new KafkaRpcClient({ client: { brokers: ['localhost:9092'], clientId: 'gateway' } });
    const doc = asyncApiDocument({ servers: [server], clients: [{ client, send: ['math.sum'] }] });
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.channels['math.sum']!.bindings).toEqual({
      kafka: { topic: 'math.sum', partitions: 3, bindingVersion: '0.5.0' },
    });
    expect(doc.operations['math.sum.receive']!.bindings).toMatchObject({
      kafka: { groupId: { enum: ['math-workers'] }, clientId: { enum: ['math'] } },
    });
    expect(reply(doc, 'math.sum.receive').address.location).toBe('$message.header#/reply_to');
    expect(request(doc).correlationId.location).toBe('$message.header#/correlation_id');
    expect(Object.keys(request(doc).headers.properties)).toEqual(
      expect.arrayContaining(['correlation_id', 'reply_to', 'rpc-deadline', 'kafka_replyTopic']),
    );
    const clientReplies = reply(doc, 'math.sum.send').channel.$ref.replace('#/channels/', '');
    expect(doc.channels[clientReplies]).toMatchObject({
      address: 'gateway.replies',
      bindings: { kafka: { topic: 'gateway.replies', partitions: 1 } },
    });
  });

  it("Kafka protocol 'nest': kafka_correlationId and kafka_replyTopic", async () => {
    const client = new KafkaRpcClient({ client: { brokers: ['localhost:9092'] }, protocol: 'nest' });
    const doc = asyncApiDocument({ clients: [{ client, send: ['math.sum'] }] });
    expect(await parserErrors(doc)).toEqual([]);
    expect(reply(doc, 'math.sum.send').address.location).toBe('$message.header#/kafka_replyTopic');
    expect(request(doc).correlationId.location).toBe('$message.header#/kafka_correlationId');
  });

  it('RabbitMQ: a queue per pattern, replyTo and correlationId properties, manual acks, direct reply-to', async () => {
    const server = withHandlers(new RabbitRpcServer({ queue: { durable: true } }));
    const client = new RabbitRpcClient({ persistent: true });
    const doc = asyncApiDocument({
      servers: [server],
      clients: [{ client, send: ['math.sum'], emit: ['audit.log'] }],
    });
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.channels['math.sum']!.bindings).toEqual({
      amqp: {
        is: 'queue',
        queue: { name: 'math.sum', durable: true, exclusive: false, autoDelete: false },
        bindingVersion: '0.3.0',
      },
    });
    expect(doc.operations['math.sum.receive']!.bindings).toEqual({
      amqp: { ack: true, bindingVersion: '0.3.0' },
    });
    expect(doc.operations['math.sum.send']!.bindings).toEqual({
      amqp: { mandatory: true, deliveryMode: 2, bindingVersion: '0.3.0' },
    });
    expect(reply(doc, 'math.sum.receive').address.location).toBe('$message.header#/replyTo');
    expect(request(doc).correlationId.location).toBe('$message.header#/correlationId');
    const clientReplies = reply(doc, 'math.sum.send').channel.$ref.replace('#/channels/', '');
    expect(doc.channels[clientReplies]!.address).toBe('amq.rabbitmq.reply-to');
  });

  it('RabbitMQ with an exchange: routing-key channels on that exchange', async () => {
    const server = withHandlers(new RabbitRpcServer({ exchange: 'rpc', serviceQueue: 'math' }));
    const doc = asyncApiDocument({ servers: [server] });
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.channels['math.sum']!.bindings).toEqual({
      amqp: {
        is: 'routingKey',
        exchange: { name: 'rpc', type: 'topic', durable: true, autoDelete: false },
        bindingVersion: '0.3.0',
      },
    });
  });

  it('NATS: the queue group per handler; the reply subject is no header, so no location', async () => {
    const server = withHandlers(new NatsRpcServer({ queue: 'math' }));
    server.addHandler('solo', async () => 1, false, { queue: false });
    const client = new NatsRpcClient({});
    const doc = asyncApiDocument({ servers: [server], clients: [{ client, send: ['math.sum'] }] });
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.operations['math.sum.receive']!.bindings).toEqual({
      nats: { queue: 'math', bindingVersion: '0.1.0' },
    });
    expect(doc.operations['solo.receive']!.bindings).toEqual({ nats: { bindingVersion: '0.1.0' } });
    expect(reply(doc, 'math.sum.receive')).not.toHaveProperty('address');
    expect(request(doc)).not.toHaveProperty('correlationId');
    const clientReplies = reply(doc, 'math.sum.send').channel.$ref.replace('#/channels/', '');
    expect(doc.channels[clientReplies]!.address).toBe('_INBOX.*.*');
  });

  it('NATS JetStream: reply_to and correlation_id headers', async () => {
    const server = withHandlers(new NatsRpcServer({ jetstream: { stream: 'ORDERS' } }));
    const doc = asyncApiDocument({ servers: [server] });
    expect(await parserErrors(doc)).toEqual([]);
    expect(reply(doc, 'math.sum.receive').address.location).toBe('$message.header#/reply_to');
    expect(request(doc).correlationId.location).toBe('$message.header#/correlation_id');
    expect(doc.operations['math.sum.receive']!.description).toContain('"ORDERS"');
  });
});
