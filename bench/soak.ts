// Soak: SOAK_REQUESTS requests (default 1 000 000; --quick 100 000) per broker through ours at
// concurrency 64, then what stayed behind: the heap after a forced GC at the 10th percent of the run and
// at its end, the client's pending entries, the process's timers and other active resources, and the
// listeners on the broker client's emitters, each before and after.
// Run: npm run bench:soak [-- nats|rabbitmq|kafka ...] [-- --quick]   (brokers from scripts/brokers.sh up)
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { BROKERS, QUICK, formatDuration, payloadOf, runRequests } from './harness.js';
import { echoModule } from './echo-module.js';

const BROKER_NAMES = ['nats', 'rabbitmq', 'kafka'] as const;
type Broker = (typeof BROKER_NAMES)[number];
const TOTAL = Number(process.env.SOAK_REQUESTS ?? (QUICK ? 100_000 : 1_000_000));
const CONCURRENCY = 64;
const GROWTH_BOUND = 0.05;
const prefix = `soak-${randomUUID().slice(0, 8)}`;

interface Subject {
  call: () => Promise<unknown>;
  pending: () => number;
  /** The broker client's event emitters whose listeners should not pile up. */
  emitters: () => unknown[];
  close: () => Promise<void>;
}

interface Snapshot {
  heapUsed: number;
  pending: number;
  resources: Record<string, number>;
  listeners: number;
}

async function start(broker: Broker): Promise<Subject> {
  const pattern = `${prefix}.echo`;
  const payload = payloadOf(100);
  const serve = async (strategy: object) => {
    const app = await NestFactory.createMicroservice(echoModule(pattern), {
      strategy: strategy as never,
      logger: false,
    });
    await app.listen();
    return app;
  };
  if (broker === 'nats') {
    const { NatsRpcClient, NatsRpcServer } = await import('../lib/nats/index.js');
    const app = await serve(new NatsRpcServer({ servers: BROKERS.NATS_URL, maxConcurrency: 256 }));
    const client = new NatsRpcClient({ servers: BROKERS.NATS_URL });
    await client.connect();
    return {
      call: () => firstValueFrom(client.send(pattern, payload)),
      pending: () => client.pendingCount,
      emitters: () => [],
      close: async () => {
        await client.close();
        await app.close();
      },
    };
  }
  if (broker === 'rabbitmq') {
    const { RabbitRpcClient, RabbitRpcServer } = await import('../lib/rabbitmq/index.js');
    const server = new RabbitRpcServer({ urls: [BROKERS.AMQP_URL], maxConcurrency: 256 });
    const app = await serve(server);
    const client = new RabbitRpcClient({ urls: [BROKERS.AMQP_URL] });
    await client.connect();
    return {
      call: () => firstValueFrom(client.send(pattern, payload)),
      pending: () => client.pendingCount,
      emitters: () => [client.unwrap(), server.unwrap()],
      close: async () => {
        await client.close();
        await app.close();
        const { connect } = await import('amqplib');
        const connection = await connect(BROKERS.AMQP_URL);
        const channel = await connection.createChannel();
        await channel.deleteQueue(pattern);
        await connection.close();
      },
    };
  }
  const { KafkaRpcClient, KafkaRpcServer } = await import('../lib/kafka/index.js');
  const brokers = BROKERS.KAFKA_BROKERS.split(',');
  const app = await serve(
    new KafkaRpcServer({
      client: { brokers, clientId: `${prefix}-server`, logLevel: 'nothing' },
      maxConcurrency: 256,
    }),
  );
  const replyTopic = `${prefix}.replies`;
  const client = new KafkaRpcClient({
    client: { brokers, clientId: `${prefix}-client`, logLevel: 'nothing' },
    replyTopic,
  });
  await client.connect();
  return {
    call: () => firstValueFrom(client.send(pattern, payload)),
    pending: () => client.pendingCount,
    emitters: () => [],
    close: async () => {
      await client.close();
      await app.close();
      const { default: kafkajs } = await import('kafkajs');
      const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [pattern, replyTopic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('Run with node --expose-gc (npm run bench:soak does)');
  collect();
  collect();
}

function listenerCount(emitters: unknown[]): number {
  let count = 0;
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 2 || value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (value instanceof EventEmitter)
      for (const name of value.eventNames()) count += value.listenerCount(name);
    // one level into what the emitter holds: amqplib's channels hang off its connection
    for (const child of Object.values(value as object)) visit(child, depth + 1);
  };
  for (const e of emitters) visit(e, 0);
  return count;
}

function snapshot(subject: Subject): Snapshot {
  gc();
  const resources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  return {
    heapUsed: process.memoryUsage().heapUsed,
    pending: subject.pending(),
    resources,
    listeners: listenerCount(subject.emitters()),
  };
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
const resourcesText = (r: Record<string, number>) =>
  Object.entries(r)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

interface Row {
  broker: Broker;
  requests: number;
  errors: number;
  ms: number;
  early: Snapshot;
  end: Snapshot;
  before: Snapshot;
  after: Snapshot;
}

async function soak(broker: Broker): Promise<Row> {
  const subject = await start(broker);
  const report = (done: number, t0: number) =>
    process.stderr.write(
      `\r[soak ${broker}] ${done.toLocaleString('en')} / ${TOTAL.toLocaleString('en')} requests, ${formatDuration(performance.now() - t0)}   `,
    );
  await runRequests(CONCURRENCY, 2_000, subject.call); // warm-up: connections, JIT, topic metadata
  const before = snapshot(subject);
  const t0 = performance.now();
  const first = Math.floor(TOTAL / 10);
  let errors = await runRequests(CONCURRENCY, first, subject.call, (n) => report(n, t0));
  const early = snapshot(subject);
  errors += await runRequests(CONCURRENCY, TOTAL - first, subject.call, (n) => report(first + n, t0));
  const ms = performance.now() - t0;
  const end = snapshot(subject);
  process.stderr.write('\n');
  // what is left once nothing runs: timers of finished requests must be gone
  const after = snapshot(subject);
  await subject.close();
  return { broker, requests: TOTAL, errors, ms, early, end, before, after };
}

function render(rows: Row[]): string {
  const lines = [
    `# Soak, ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${TOTAL.toLocaleString('en')} requests per broker through nestjs-broker-rpc at concurrency ${CONCURRENCY}, ~100 B JSON, Node ${process.version}.`,
    `Heap: \`heapUsed\` after two forced GCs, at request ${Math.floor(TOTAL / 10).toLocaleString('en')} and at the end; bound: growth < ${GROWTH_BOUND * 100} %.`,
    '',
    '| broker | req/s | errors | heap at 10 % (MiB) | heap at end (MiB) | growth | pending before / after | listeners before / after | held |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const growth = (r.end.heapUsed - r.early.heapUsed) / r.early.heapUsed;
    const held =
      growth < GROWTH_BOUND &&
      r.after.pending === r.before.pending &&
      r.after.listeners === r.before.listeners &&
      (r.after.resources.Timeout ?? 0) <= (r.before.resources.Timeout ?? 0) &&
      r.errors === 0;
    lines.push(
      `| ${r.broker} | ${Math.round((r.requests / r.ms) * 1000)} | ${r.errors} | ${mib(r.early.heapUsed)} | ${mib(r.end.heapUsed)} | ${(growth * 100).toFixed(1)} % | ${r.before.pending} / ${r.after.pending} | ${r.before.listeners} / ${r.after.listeners} | ${held ? 'yes' : 'NO'} |`,
    );
  }
  lines.push('', 'Active resources (`process.getActiveResourcesInfo()`), before and after:', '');
  for (const r of rows)
    lines.push(
      `- ${r.broker}: before ${resourcesText(r.before.resources)}; after ${resourcesText(r.after.resources)}`,
    );
  return lines.join('\n') + '\n';
}

async function main() {
  const picked = process.argv.slice(2).filter((a) => a !== '--quick');
  for (const a of picked)
    if (!(BROKER_NAMES as readonly string[]).includes(a))
      throw new TypeError(`Unknown argument "${a}": expected ${BROKER_NAMES.join('|')} or --quick`);
  const brokers = picked.length ? (picked as Broker[]) : [...BROKER_NAMES];
  const rows: Row[] = [];
  for (const b of brokers) rows.push(await soak(b));
  const text = render(rows);
  console.log(`\n${text}`);
  const dir = path.join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-soak${QUICK ? '-quick' : ''}.md`);
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
  process.exit(0);
}

void main();
