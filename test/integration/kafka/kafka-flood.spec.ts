import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcRecordBuilder } from '../../../lib/index.js';
import { KafkaRpcClient } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { type FloodChild, mib, startFloodChild } from '../support/flood.js';
import { rawKafka, uniquePrefix } from './kafka-helpers.js';

describe('Kafka flood', () => {
  const children: FloodChild[] = [];
  const clients: KafkaRpcClient[] = [];
  const topics: string[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const child of children.splice(0)) child.kill();
    const admin = rawKafka('flood-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics: topics.splice(0) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('holds at most maxConcurrency + maxQueued requests over all partitions, pausing them, and loses none', async () => {
    const prefix = uniquePrefix('flood');
    const pattern = `${prefix}.work`;
    const partitions = 30;
    const maxConcurrency = 5;
    const maxQueued = 15;
    const bound = maxConcurrency + maxQueued; // per partition, 4 × maxConcurrency = 20 may be in flight
    const n = 600; // 20 per partition
    const size = 64 * 1024;
    topics.push(pattern, `${prefix}-client.replies`);
    const server = await startFloodChild({
      role: 'kafka-server',
      brokers: KAFKA_BROKERS,
      pattern,
      groupId: `${prefix}-service`,
      partitions,
      maxConcurrency,
      maxQueued,
      // small fetches, so that what the consumer library buffers stays small next to the flood
      maxBytesPerPartition: 2 * size,
    });
    children.push(server);
    const client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-client`, logLevel: 'nothing' },
      timeout: 0,
    });
    clients.push(client);
    await client.connect();

    const before = await server.heap();
    const outcomes = Array.from({ length: n }, (_, i) =>
      lastValueFrom(
        client.send(
          pattern,
          new RpcRecordBuilder(Buffer.alloc(size, i)).setPartition(i % partitions).build(),
        ),
      ),
    );
    type State = { held: number; counters: Record<string, number> };
    // unbounded, the server takes all of them; bounded, it pauses every partition at `bound`
    await expect
      .poll(() => server.call<State>('state'), { timeout: 60_000 })
      .toSatisfy(
        (s: State) => s.held === n || (s.held === bound && (s.counters.partitionsPausedFull ?? 0) > 0),
      );
    const during = await server.heap();
    const state = await server.call<State>('state');
    await server.call('release');
    const replies = await Promise.all(outcomes);

    const growth = during.total - before.total;
    console.log(
      `Kafka flood of ${n} × ${size} B over ${partitions} partitions: heap + buffers grew by ${mib(growth)} (heapUsed ${mib(during.heapUsed - before.heapUsed)}, arrayBuffers ${mib(during.arrayBuffers - before.arrayBuffers)}); bound ${bound} × S = ${mib(bound * size)}, N × S = ${mib(n * size)}; held ${state.held}, pauses ${state.counters.partitionsPausedFull}`,
    );
    // what the bound holds, and the consumer's fetch buffers; unbounded it held the whole flood (N × S)
    expect(growth).toBeLessThan(5 * bound * size);
    expect(state.held).toBe(bound);
    // paused, not dropped: every request is answered once released
    expect(replies).toEqual(Array.from({ length: n }, () => size));
  }, 180_000);
});
