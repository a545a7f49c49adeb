// Chaos on a 3-node RabbitMQ cluster with quorum queues (scripts/cluster/rabbitmq.mjs), run by
// `npm run test:chaos` inside a network namespace of its own: steady traffic while the node leading
// the request queue and the node the client is connected to are killed and restarted, and a worker
// is killed mid-request (its request is redelivered: exactly one reply).
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEnv } from '../../scripts/broker-env.mjs';
import * as rabbit from '../../scripts/cluster/rabbitmq.mjs';
import { RabbitRpcClient, RabbitRpcServer } from '../../lib/rabbitmq/index.js';
import { runFault } from './fault.js';
import { heal, partition } from './netfilter.js';
import { writeReport } from './report.js';
import {
  ChaosController,
  DEFAULT_REQUEST_TIMEOUT_MS,
  HUNG_MARGIN_MS,
  Traffic,
  type FaultFigures,
} from './traffic.js';
import { killWorkerMidRequest } from './redelivery.js';

const env = clusterEnv();
/** Tuned: AMQP heartbeat 2 s (RabbitMQ's default 60 s) so a partition is noticed; a kill needs none. */
const HEARTBEAT_S = 2;
const urls = env.rabbitmq.map((n) => `${n.url}?heartbeat=${HEARTBEAT_S}`);
const rows: FaultFigures[] = [];
/** Tuned: a connection attempt to a silent (partitioned) node gives up after 2 s (default 10 s). */
const CONNECT_TIMEOUT_MS = 2_000;
const named = (name: string) => ({
  clientProperties: { connection_name: name },
  timeout: CONNECT_TIMEOUT_MS,
});

describe('RabbitMQ cluster chaos', () => {
  let app: INestMicroservice;
  let client: RabbitRpcClient;
  let traffic: Traffic;
  let broker = 'RabbitMQ (version not read)';

  /** A running node to ask, other than `not`. */
  const via = (not = -1) => env.rabbitmq.findIndex((_, i) => i !== not);

  beforeAll(async () => {
    await rabbit.ready(env);
    const v = await rabbit.versions(env, 0);
    broker = `RabbitMQ ${v.rabbitmq}, Erlang ${v.erlang}`;
    @Module({ controllers: [ChaosController] })
    class ChaosModule {}
    app = await NestFactory.createMicroservice(ChaosModule, {
      strategy: new RabbitRpcServer({ urls, queue: { quorum: true }, socketOptions: named('chaos-server') }),
      logger: false,
    });
    await app.listen();
    client = new RabbitRpcClient({
      urls,
      timeout: DEFAULT_REQUEST_TIMEOUT_MS,
      socketOptions: named('chaos-client'),
    });
    await client.connect();
    traffic = new Traffic(client);
    traffic.start();
    expect(await traffic.recovered(Date.now(), 1_000)).toBe(true);
  });

  afterAll(async () => {
    await traffic?.stop();
    await client?.close();
    await app?.close();
    writeReport(
      'rabbitmq',
      [
        `${broker} (as the nodes report it), 3 nodes, classic-config discovery, pause_minority, shared cookie`,
        `quorum request queues (chaos.double, chaos.stream), replication 3; client and server given all three URLs`,
        `traffic ~200 req/s, one in four a 3-value stream, request timeout ${DEFAULT_REQUEST_TIMEOUT_MS} ms, hung = no outcome after ${DEFAULT_REQUEST_TIMEOUT_MS + HUNG_MARGIN_MS} ms`,
        `node kill: sockets reset at once (AMQP and Erlang distribution), amqplib recovery defaults; partition: AMQP heartbeat ${HEARTBEAT_S} s, socketOptions.timeout ${CONNECT_TIMEOUT_MS} ms, net_ticktime ${rabbit.RABBIT_NET_TICKTIME_S} s (tuned; defaults 60 s / 10 s / 60 s)`,
      ],
      rows,
    );
  });

  const fault = (name: string, detection: string, inject: () => Promise<() => Promise<void>>) =>
    runFault(traffic, rows, name, detection, inject);

  const killAndRestart = async (i: number) => {
    await rabbit.killNode(env, i);
    return async () => {
      rabbit.startNode(env, i);
      await rabbit.ready(env, via(i));
    };
  };

  it('kills the node leading the request queues (SIGKILL) and restarts it', async () => {
    // pinned on a node neither the client nor the server is connected to: this kills only the leader
    // (the queues are declared client-local, on the server's node)
    const used = [
      await rabbit.nodeOfConnection(env, 'chaos-client', 0),
      await rabbit.nodeOfConnection(env, 'chaos-server', 0),
    ];
    const leader = env.rabbitmq.findIndex((_, i) => !used.includes(i));
    for (const queue of ['chaos.double', 'chaos.stream']) await rabbit.moveLeader(env, queue, leader, 0);
    await fault('kill quorum leader node', 'TCP reset, Raft re-election', () => killAndRestart(leader));
  }, 300_000);

  it("kills the client's node (SIGKILL) and restarts it", async () => {
    const node = await rabbit.nodeOfConnection(env, 'chaos-client', 0);
    expect(node).toBeDefined();
    await fault("kill client's node", 'TCP reset, amqplib recovery', () => killAndRestart(node!));
  }, 300_000);

  it("partitions the client's node away (nftables) and heals it", async () => {
    // node 0 runs the namespace's epmd, which the partition would cut off too: take another node
    const client0 = await rabbit.nodeOfConnection(env, 'chaos-client', 0);
    const i = client0 !== undefined && client0 !== 0 ? client0 : 1;
    const node = env.rabbitmq[i];
    await fault(
      i === client0 ? "partition client's node" : 'partition a node',
      `heartbeat ${HEARTBEAT_S} s, connect timeout 2 s, net_ticktime ${rabbit.RABBIT_NET_TICKTIME_S} s (tuned)`,
      async () => {
        const since = Date.now();
        partition({ gid: node.gid, ports: [node.port, node.distPort] });
        return async () => {
          // healed before the cut-off node pauses (about 25 s after the cut here: its node monitor
          // handles the peers' downs slowly), all three keep running with Mnesia partitioned for good
          await rabbit.awaitPaused(env, i, since);
          heal();
          await rabbit.ready(env, via(i));
        };
      },
    );
  }, 300_000);

  it('kills a worker mid-request: the request is redelivered and answered exactly once', async () => {
    // its own client: the redelivery waits for a second worker process to start, longer than 3 s here
    const patient = new RabbitRpcClient({ urls, timeout: 60_000 });
    await patient.connect();
    try {
      rows.push(
        await killWorkerMidRequest(
          'rabbitmq',
          urls.join(','),
          patient,
          'AMQP connection closed: unacked request requeued',
        ),
      );
    } finally {
      await patient.close();
    }
  }, 60_000);
});
