// Two different services left on the default client id share the default consumer group. kafkajs
// would assign the partitions of the group leader's topics round-robin over both and leave the
// other's topics unassigned; the second service's listen() refuses instead, naming the group and
// the first one's topics. A second instance of the same service joins as before.
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RpcGroupConflictError, RpcRecordBuilder } from '../../../lib/index.js';
import { DEFAULT_KAFKA_CLIENT_ID, KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { cleanUp, rawKafka, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('defgroup');
const orders = `${prefix}.orders`;
const billing = `${prefix}.billing`;

/** A server on the default client id and group id, answering `topic` with `name`. */
function service(topic: string, name: string, extra: { allowMixedSubscriptions?: boolean } = {}) {
  const server = new KafkaRpcServer({
    client: { brokers: KAFKA_BROKERS, logLevel: 'nothing' },
    ...(extra.allowMixedSubscriptions !== undefined ? { consumer: extra } : {}),
  });
  server.addHandler(topic, async () => name);
  return server;
}

const listen = (server: KafkaRpcServer) =>
  new Promise<unknown>((resolve) => server.listen((err) => resolve(err)));

describe('Kafka services sharing the default consumer group', () => {
  const servers: KafkaRpcServer[] = [];
  let client: KafkaRpcClient;
  let ordersService: KafkaRpcServer;

  beforeAll(async () => {
    const admin = rawKafka(`${prefix}-admin`).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [orders, billing].map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gw`, logLevel: 'nothing' },
      timeout: 20_000,
    });
    await client.connect();
    ordersService = service(orders, 'orders-1');
    servers.push(ordersService);
    expect(await listen(ordersService)).toBeUndefined();
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all(servers.map((s) => s.close()));
    await cleanUp(prefix);
    const admin = rawKafka(`${prefix}-admin`).admin();
    await admin.connect();
    await admin.deleteGroups([DEFAULT_KAFKA_CLIENT_ID]).catch(() => undefined);
    await admin.disconnect();
  });

  it('fails the second service’s listen() with an error naming the group and the first one’s topics', async () => {
    const billingService = service(billing, 'billing');
    servers.push(billingService);
    const err = await listen(billingService);
    expect(err).toBeInstanceOf(RpcGroupConflictError);
    const conflict = err as RpcGroupConflictError;
    expect(conflict.code).toBe('RPC_GROUP_CONFLICT');
    expect(conflict.groupId).toBe(DEFAULT_KAFKA_CLIENT_ID);
    expect(conflict.topics).toEqual([billing]);
    expect(conflict.members.map((m) => m.topics)).toEqual([[orders]]);
    expect(conflict.message).toContain(`Consumer group "${DEFAULT_KAFKA_CLIENT_ID}"`);
    expect(conflict.message).toContain(`consumes "${orders}"`);
    // Whether the first service logs it too is a race: the refused one may have left before the
    // first one's check after the rebalance reads the group (the last test covers a member that stays).
    // It got every partition back once the refused service left: all three are answered by it.
    for (let partition = 0; partition < 3; partition++) {
      const request = new RpcRecordBuilder({}).setPartition(partition).build();
      await expect(firstValueFrom(client.send(orders, request))).resolves.toBe('orders-1');
    }
  }, 60_000);

  it('lets a second instance of the same service join', async () => {
    const second = service(orders, 'orders-2');
    servers.push(second);
    expect(await listen(second)).toBeUndefined();
    const answers = new Set<unknown>();
    for (let i = 0; i < 12; i++) answers.add(await firstValueFrom(client.send(orders, { i })));
    expect([...answers].every((a) => a === 'orders-1' || a === 'orders-2')).toBe(true);
  }, 60_000);

  it('lets a different service join with consumer.allowMixedSubscriptions; one already listening logs the conflict', async () => {
    const logged = vi.spyOn(
      (ordersService as unknown as { logger: { error: (m: string) => void } }).logger,
      'error',
    );
    const mixed = service(billing, 'billing', { allowMixedSubscriptions: true });
    servers.push(mixed);
    expect(await listen(mixed)).toBeUndefined();
    // it stays in the group, so the first service's check after the rebalance finds it
    await expect
      .poll(() => logged.mock.calls.some(([m]) => String(m).includes(`consumes "${billing}"`)), {
        timeout: 30_000,
      })
      .toBe(true);
    await mixed.close();
  }, 60_000);
});
