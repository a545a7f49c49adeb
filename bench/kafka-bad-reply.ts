// Kafka: latency of good requests with and without a hostile caller mixed in, who sends 1 request per
// second whose reply address cannot exist (alternately a missing reply topic and a partition beyond
// the reply topic's count). Concurrency 8, one server, one client; the two runs are back to back.
//
// Run: node --import ./scripts/register-ts.mjs bench/kafka-bad-reply.ts   (the broker from
// `bash scripts/brokers.sh up kafka`; BENCH_MS=20000 per run; KAFKA_BROKERS=127.0.0.1:9092).
// Topics and groups get a random prefix and are deleted after.
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { KafkaRpcClient, KafkaRpcServer } from '../lib/kafka/index.js';
import { BROKERS, measure, measureBrokerCpu, printTable, type Result } from './harness.js';

const brokers = (process.env.KAFKA_BROKERS ?? BROKERS.KAFKA_BROKERS).split(',');
const durationMs = Number(process.env.BENCH_MS ?? 20_000);
const prefix = `bench-${randomUUID().slice(0, 8)}`;
const topic = `${prefix}.echo`;
const CONCURRENCY = 8;
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };

@Controller()
class EchoController {
  @MessagePattern(topic)
  echo(@Payload() data: unknown) {
    return data;
  }
}
@Module({ controllers: [EchoController] })
class EchoModule {}

async function main() {
  measureBrokerCpu('kafka');
  const kafka = new kafkajs.Kafka({ clientId: `${prefix}-raw`, brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const hostile = kafka.producer({ allowAutoTopicCreation: false });
  await hostile.connect();
  const server = new KafkaRpcServer({ client: { brokers, clientId: `${prefix}-svc`, logLevel: 'nothing' } });
  const app = await NestFactory.createMicroservice(EchoModule, { strategy: server, logger: false });
  await app.listen();
  const client = new KafkaRpcClient({
    client: { brokers, clientId: `${prefix}-gw`, logLevel: 'nothing' },
    timeout: 30_000,
  });
  await client.connect();
  // The slowest good request of a run and how many took over a second: a stalled produce shows there.
  let slowest = 0;
  let overOneSecond = 0;
  const call = async () => {
    const t0 = performance.now();
    await firstValueFrom(client.send(topic, payload));
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > 1_000) overOneSecond++;
  };
  const run = async (name: string) => {
    slowest = 0;
    overOneSecond = 0;
    const result = await measure(name, CONCURRENCY, durationMs, call);
    tails.push(`${name}: slowest ${slowest.toFixed(0)} ms, ${overOneSecond} over 1 s`);
    return result;
  };
  const tails: string[] = [];

  let bad = 0;
  let stop = false;
  const hostileLoop = async () => {
    for (let i = 0; !stop; i++) {
      const id = `bad-${i}`;
      const headers: Record<string, string> =
        i % 2 === 0
          ? { reply_to: `${prefix}.nowhere.${i % 3}`, correlation_id: id }
          : { kafka_replyTopic: client.replyTopic, kafka_correlationId: id, kafka_replyPartition: '7' };
      await hostile.send({ topic, messages: [{ value: JSON.stringify(payload), headers }] });
      bad++;
      await delay(1_000);
    }
  };

  try {
    const results: Result[] = [];
    results.push(await run('good only'));
    const loop = hostileLoop();
    results.push(await run('good + 1 bad/s'));
    stop = true;
    await loop;
    printTable(results);
    console.log(`\n${tails.join('\n')}`);
    console.log(`\nbad requests sent: ${bad}; server counters: ${JSON.stringify(server.counters)}`);
  } finally {
    await client.close();
    await app.close();
    await hostile.disconnect();
    const created = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.deleteGroups([`${prefix}-svc`]).catch(() => undefined);
    await admin.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
