// Reply routing under scaling: client instances of one service share one reply topic (3 partitions);
// servers reply without a partition, so a reply may land on any partition. Client and server
// instances are added and removed while traffic flows; every request must get exactly its own reply.
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder, WireHeaders as Headers } from '../../../lib/index.js';
import { KafkaRpcClient, type KafkaRpcContext } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { cleanUp, rawKafka, startServer, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('scale');
const topic = `${prefix}.echo`;
const replyTopic = `${prefix}-gateway.replies`;
const LOOPS_PER_CLIENT = 8;

/** Which server instance took each request, by correlation id: what a failure report says of a lost one. */
const takenBy = new Map<string, string>();

function echoController(instance: string, served: Map<string, number>) {
  @Controller()
  class EchoController {
    @MessagePattern(topic)
    echo(@Payload() data: { client: string; seq: number }, @Ctx() ctx: KafkaRpcContext) {
      served.set(instance, (served.get(instance) ?? 0) + 1);
      const id = ctx.getMessage().headers[Headers.correlationId];
      if (id !== undefined) takenBy.set(id, `${instance} (partition ${ctx.getPartition()})`);
      return { ...data, partition: ctx.getPartition() };
    }
  }
  return EchoController;
}

const newClient = async () => {
  const client = new KafkaRpcClient({
    client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gateway`, logLevel: 'nothing' },
    topics: { numPartitions: 3 },
    timeout: 30_000,
  });
  await client.connect();
  return client;
};

/** Closed-loop traffic from one client instance; checks every reply against its own request. */
class Traffic {
  sent = 0;
  matched = 0;
  readonly mismatches: unknown[] = [];
  readonly errors: unknown[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private waiters: Array<{ target: number; resolve: () => void }> = [];

  constructor(
    readonly name: string,
    readonly client: KafkaRpcClient,
  ) {
    this.loops = Array.from({ length: LOOPS_PER_CLIENT }, (_, loop) => this.loop(loop));
  }

  private async loop(loop: number): Promise<void> {
    while (this.running) {
      const request = { client: this.name, seq: this.sent++ };
      try {
        const key = `${this.name}-${loop}-${request.seq % 7}`;
        const reply = await firstValueFrom(
          this.client.send(topic, new RpcRecordBuilder(request).setKey(key).build()),
        );
        if (reply.client === request.client && reply.seq === request.seq) this.matched++;
        else this.mismatches.push({ request, reply });
      } catch (err) {
        this.errors.push(err);
      }
      this.notify();
    }
  }

  private notify(): void {
    const failed = this.errors.length > 0 || this.mismatches.length > 0;
    this.waiters = this.waiters.filter((w) => {
      if (!failed && this.matched < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `n` more replies matched (or something failed: the final checks report it). */
  progress(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ target: this.matched + n, resolve });
      this.notify();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/**
 * For the requests that got no reply: was the request written, which server took it, and was its
 * reply written (topic, partition, offset)? Tells a lost request from a lost reply in a failure report.
 */
async function whereLost(ids: Set<string>): Promise<string> {
  if (ids.size === 0) return 'nothing lost';
  const kafka = rawKafka(`${prefix}-inspect`);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await Promise.all([topic, replyTopic].map((t) => admin.fetchTopicOffsets(t)));
  await admin.disconnect();
  let left = ends.flat().reduce((sum, p) => sum + Number(p.high), 0);
  const written = new Map<string, string[]>();
  const consumer = kafka.consumer({ groupId: `${prefix}-inspect` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic, replyTopic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const id = message.headers?.[Headers.correlationId]?.toString();
        if (id !== undefined && ids.has(id))
          written.set(id, [...(written.get(id) ?? []), `${t}[${partition}]@${message.offset}`]);
        if (--left <= 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return [...ids]
    .map(
      (id) =>
        `${id}: taken by ${takenBy.get(id) ?? 'no server'}; written ${written.get(id)?.join(', ') ?? 'nowhere'}`,
    )
    .join('\n');
}

describe('Kafka reply routing while scaling', () => {
  const served = new Map<string, number>();
  const servers: INestMicroservice[] = [];
  const clients: KafkaRpcClient[] = [];

  beforeAll(async () => {
    const admin = rawKafka(`${prefix}-admin`).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    for (let i = 0; i < 3; i++)
      servers.push(await startServer([echoController(`s${i}`, served)], { groupId: `${prefix}-echo` }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
    await cleanUp(prefix);
  });

  it('matches every reply while client and server instances come and go (2 clients × 3 servers)', async () => {
    const a = await newClient();
    const b = await newClient();
    clients.push(a, b);
    expect(a.replyTopic).toBe(replyTopic);
    expect(b.replyTopic).toBe(replyTopic);
    const traffic = [new Traffic('a', a), new Traffic('b', b)];
    await Promise.all(traffic.map((t) => t.progress(200)));

    // A third client instance joins the shared reply topic mid-traffic.
    const c = await newClient();
    clients.push(c);
    traffic.push(new Traffic('c', c));
    await Promise.all(traffic.map((t) => t.progress(200)));

    // A fourth server instance joins the group: a rebalance of the request topic mid-traffic.
    servers.push(await startServer([echoController('s3', served)], { groupId: `${prefix}-echo` }));
    await Promise.all(traffic.map((t) => t.progress(200)));

    // Client b scales down (its loops stop first, so it leaves nothing pending), and a server leaves.
    await traffic[1]!.stop();
    await b.close();
    clients.splice(clients.indexOf(b), 1);
    await servers.shift()!.close();
    await Promise.all([traffic[0]!, traffic[2]!].map((t) => t.progress(200)));

    // A client instance restarts: same service, same reply topic, a fresh reply consumer.
    await traffic[0]!.stop();
    await a.close();
    await a.connect();
    const again = new Traffic('a2', a);
    traffic.push(again);
    await Promise.all([again, traffic[2]!].map((t) => t.progress(200)));

    await Promise.all(traffic.map((t) => t.stop()));
    const lost = new Set(
      traffic.flatMap((t) => t.errors.map((e) => (e as { correlationId?: string }).correlationId ?? '?')),
    );
    const stats = traffic.map((t) => `${t.name} ${JSON.stringify(t.client.replyStats)}`).join(', ');
    if (lost.size > 0) console.error(`[kafka-scale] lost:\n${await whereLost(lost)}\nreply stats: ${stats}`);
    for (const t of traffic) {
      expect(t.mismatches, `${t.name} got someone else's reply`).toEqual([]);
      expect(t.errors, `${t.name} had failures`).toEqual([]);
      expect(t.matched).toBe(t.sent);
    }
    // Every instance reads the whole reply topic and drops what is not its own.
    expect(c.replyStats.foreign).toBeGreaterThan(0);
    expect(served.get('s3')).toBeGreaterThan(0);
  }, 120_000);
});
