// Requests whose reply address cannot exist (a missing reply topic, a partition beyond the reply
// topic's count), mixed into steady traffic as a hostile caller would: nobody else's reply fails or
// waits for them, they are counted and committed, and the broker creates no topic for them.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { setTimeout as delay } from 'node:timers/promises';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { cleanUp, eventually, rawKafka, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('badreply');
const topic = `${prefix}.echo`;
const groupId = `${prefix}-svc`;
/** One per second: 20 s of traffic. */
const BAD_REQUESTS = 20;
const WORKERS = 8;
/** Calls per request id that reached the handler. */
const handled = new Map<string, number>();

@Controller()
class EchoController {
  @MessagePattern(topic)
  echo(@Payload() data: { id: string }) {
    handled.set(data.id, (handled.get(data.id) ?? 0) + 1);
    return data.id;
  }
}
@Module({ controllers: [EchoController] })
class EchoModule {}

async function startServer(): Promise<{ app: INestMicroservice; server: KafkaRpcServer }> {
  const server = new KafkaRpcServer({
    client: { brokers: KAFKA_BROKERS, clientId: groupId, logLevel: 'nothing' },
    consumer: { groupId, sessionTimeout: 6_000, heartbeatInterval: 500 },
  });
  const app = await NestFactory.createMicroservice(EchoModule, { strategy: server, logger: false });
  await app.listen();
  return { app, server };
}

describe('Kafka replies to a missing topic or partition', () => {
  const kafka = rawKafka(`${prefix}-raw`);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let app: INestMicroservice;
  let server: KafkaRpcServer;
  let client: KafkaRpcClient;

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
    ({ app, server } = await startServer());
    client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gw`, logLevel: 'nothing' },
      timeout: 5_000,
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await producer.disconnect();
    await admin.disconnect();
    await cleanUp(prefix);
  });

  const badTopics = [0, 1, 2].map((i) => `${prefix}.nowhere.${i}`);
  const badIds: string[] = [];

  /** One bad request: even ones name a missing reply topic, odd ones a partition the reply topic lacks. */
  const sendBad = async (i: number) => {
    const id = `bad-${i}`;
    badIds.push(id);
    const headers: Record<string, string> =
      i % 2 === 0
        ? { reply_to: badTopics[i % badTopics.length]!, correlation_id: id }
        : { kafka_replyTopic: client.replyTopic, kafka_correlationId: id, kafka_replyPartition: '7' };
    await producer.send({
      topic,
      messages: [
        { value: JSON.stringify({ id }), headers: { 'content-type': 'application/json', ...headers } },
      ],
    });
  };

  it('answers every good request while 1 bad request per second comes in; counts and commits the bad ones', async () => {
    expect(
      (await admin.fetchTopicMetadata({ topics: [client.replyTopic] })).topics[0]!.partitions,
    ).toHaveLength(1);
    const failures: unknown[] = [];
    let answered = 0;
    let n = 0;
    let done = false;
    const workers = Array.from({ length: WORKERS }, async () => {
      while (!done) {
        const id = `good-${n++}`;
        try {
          expect(await firstValueFrom(client.send(topic, { id }))).toBe(id);
          answered++;
        } catch (err) {
          failures.push(err);
        }
      }
    });
    const bad = (async () => {
      // Pacing the hostile traffic, not synchronising: one bad request per second.
      for (let i = 0; i < BAD_REQUESTS; i++) {
        await sendBad(i);
        await delay(1_000);
      }
      done = true;
    })();
    await Promise.all([...workers, bad]);

    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    await expect.poll(() => server.counters.repliesUndeliverable).toBe(badIds.length);
    expect(server.counters.replyPublishFailures).toBe(0);
    for (const id of badIds) expect(handled.get(id)).toBe(1);
    // Producing (or looking up) a missing topic made the broker (auto.create.topics.enable=true) create none.
    const topics = await admin.listTopics();
    for (const t of badTopics) expect(topics).not.toContain(t);
    expect(
      (await admin.fetchTopicMetadata({ topics: [client.replyTopic] })).topics[0]!.partitions,
    ).toHaveLength(1);

    // Every offset is committed, the bad requests' included: a restarted server does not run them again.
    const ends = await admin.fetchTopicOffsets(topic);
    await eventually(
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return ends.every(
          (e) => committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
        );
      },
      15_000,
      'every request offset to be committed',
    );
    await app.close();
    ({ app, server } = await startServer());
    await expect(firstValueFrom(client.send(topic, { id: 'after-restart' }))).resolves.toBe('after-restart');
    for (const id of badIds) expect(handled.get(id)).toBe(1);
    expect(server.counters.repliesUndeliverable).toBe(0);
  }, 120_000);
});
