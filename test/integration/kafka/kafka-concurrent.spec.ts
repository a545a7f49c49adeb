// The ideas of Nest's concurrent-kafka e2e test: three server instances of one service splitting the
// partitions of a request topic, three client instances of one gateway service sharing one reply
// topic, one client leaving while its reply is pending and coming back, one server leaving.
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcConnectionError, RpcRecordBuilder } from '../../../lib/index.js';
import { KafkaRpcClient, type KafkaRpcContext } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { Holds } from './app/kafka.controller.js';
import { cleanUp, rawKafka, startServer, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('conc');
const topic = `${prefix}.math.sum.sync.number.wait`;
const servers = 3;
const holds = new Holds();
const handledBy = new Map<string, string>();

function waitingController(instance: string) {
  @Controller()
  class KafkaConcurrentController {
    @MessagePattern(topic)
    async sum(@Payload() data: { id: string; numbers: number[] }, @Ctx() ctx: KafkaRpcContext) {
      handledBy.set(data.id, `${instance}/p${ctx.getPartition()}`);
      await holds.hold(data.id);
      return data.numbers.reduce((a, b) => a + b, 0);
    }
  }
  return KafkaConcurrentController;
}

const newClient = () =>
  new KafkaRpcClient({
    client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gateway`, logLevel: 'nothing' },
    timeout: 30_000,
  });

describe('Kafka concurrent', () => {
  const apps: INestMicroservice[] = [];
  const clients: KafkaRpcClient[] = [];

  beforeAll(async () => {
    const admin = rawKafka(`${prefix}-admin`).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: servers }], waitForLeaders: true });
    await admin.disconnect();
    // Started one after the other, like Nest's test, so each join settles before the next.
    for (let i = 0; i < servers; i++) {
      apps.push(await startServer([waitingController(`server${i}`)], { groupId: `${prefix}-math` }));
    }
    for (let i = 0; i < servers; i++) {
      const client = newClient();
      await client.connect();
      clients.push(client);
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(apps.map((a) => a.close()));
    await cleanUp(prefix);
  });

  // Client i asks on partition i; all handlers wait for "go" before answering.
  const ask = (client: KafkaRpcClient, id: string, partition: number, numbers: number[]) =>
    firstValueFrom(client.send(topic, new RpcRecordBuilder({ id, numbers }).setPartition(partition).build()));

  it('handles the partitions on different servers concurrently, without a rebalance', async () => {
    const ids = [0, 1, 2].map((i) => `a${i}`);
    const results = ids.map((id, i) => ask(clients[i]!, id, i, [1, i]));
    await Promise.all(ids.map((id) => holds.started(id)));
    // Each partition went to its own server instance, and all three requests run at once.
    expect(new Set(ids.map((id) => handledBy.get(id)!.split('/')[0])).size).toBe(3);
    ids.forEach((id) => holds.release(id));
    await expect(Promise.all(results)).resolves.toEqual([1, 2, 3]);
  });

  it('fails the pending request of a client that closes; the other instances still get theirs', async () => {
    const ids = [0, 1, 2].map((i) => `b${i}`);
    const results = ids.map((id, i) => ask(clients[i]!, id, i, [1, i]).catch((e) => e));
    await Promise.all(ids.map((id) => holds.started(id)));
    await clients[0]!.close();
    ids.forEach((id) => holds.release(id));
    const [first, ...others] = await Promise.all(results);
    expect(first).toBeInstanceOf(RpcConnectionError);
    expect(others).toEqual([2, 3]);
  });

  it('lets a client come back while the other instances’ replies are pending', async () => {
    const ids = [1, 2].map((i) => `c${i}`);
    const pending = ids.map((id, k) => ask(clients[k + 1]!, id, k + 1, [1, k + 1]));
    await Promise.all(ids.map((id) => holds.started(id)));
    await clients[0]!.connect();
    const back = ask(clients[0]!, 'c0', 0, [1, 0]);
    await holds.started('c0');
    ['c0', ...ids].forEach((id) => holds.release(id));
    await expect(Promise.all([back, ...pending])).resolves.toEqual([1, 2, 3]);
  });

  it('moves the partitions of a server that leaves; their requests are answered by the others', async () => {
    const leaving = apps.shift()!;
    await leaving.close();
    const ids = [0, 1, 2].map((i) => `d${i}`);
    ids.forEach((id) => holds.release(id));
    const results = await Promise.all(ids.map((id, i) => ask(clients[i]!, id, i, [1, i])));
    expect(results).toEqual([1, 2, 3]);
    expect(ids.every((id) => !handledBy.get(id)!.startsWith('server0/'))).toBe(true);
  }, 60_000); // the client's 30 s timeout plus the rebalance
});
