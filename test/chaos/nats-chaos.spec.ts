// Chaos on a 3-node NATS cluster (scripts/cluster/nats.mjs), run by `npm run test:chaos` inside a
// network namespace of its own: steady traffic while nodes are killed, restarted and partitioned
// away, and a worker killed mid-request. No request may hang or get a wrong value.
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { execFileSync } from 'node:child_process';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEnv } from '../../scripts/broker-env.mjs';
import * as nats from '../../scripts/cluster/nats.mjs';
import { RpcTimeoutError } from '../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../lib/nats/index.js';
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
import { WorkerProcess } from './worker-process.js';

const env = clusterEnv();
const servers = env.nats.map((n) => n.url);
/**
 * Tuned for partitions (no RST): nats.js pings every 2 min by default, and gives a silent server 20 s
 * per connection attempt; a node kill needs neither.
 */
const PING = { pingInterval: 1_000, maxPingOut: 3, connectTimeout: 2_000 };
const rows: FaultFigures[] = [];

describe('NATS cluster chaos', () => {
  let app: INestMicroservice;
  let client: NatsRpcClient;
  let traffic: Traffic;

  beforeAll(async () => {
    await nats.ready(env);
    @Module({ controllers: [ChaosController] })
    class ChaosModule {}
    app = await NestFactory.createMicroservice(ChaosModule, {
      strategy: new NatsRpcServer({ servers, name: 'chaos-server', queue: 'chaos', ...PING }),
      logger: false,
    });
    await app.listen();
    client = new NatsRpcClient({
      servers,
      name: 'chaos-client',
      timeout: DEFAULT_REQUEST_TIMEOUT_MS,
      ...PING,
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
    const version = execFileSync('nats-server', ['--version']).toString().trim();
    writeReport(
      'nats',
      [
        `${version}, 3 nodes (routes), client and server given all three URLs`,
        `${traffic ? 'traffic ~200 req/s, one in four a 3-value stream' : ''}, request timeout ${DEFAULT_REQUEST_TIMEOUT_MS} ms, hung = no outcome after ${DEFAULT_REQUEST_TIMEOUT_MS + HUNG_MARGIN_MS} ms`,
        "node kill: the killed node's sockets close at once (RST), nats.js reconnects to another URL (defaults)",
        `partition: tuned pings (client pingInterval ${PING.pingInterval} ms, maxPingOut ${PING.maxPingOut}, connectTimeout ${PING.connectTimeout} ms; server ping_interval 1s, ping_max 3; defaults 2 min / 2 / 20 s)`,
      ],
      rows,
    );
  });

  const fault = (name: string, detection: string, inject: () => Promise<() => Promise<void>>) =>
    runFault(traffic, rows, name, detection, inject);

  async function nodeOf(name: string): Promise<number> {
    const i = await nats.nodeOf(env, name);
    if (i === undefined) throw new Error(`${name} is on no node`);
    return i;
  }

  async function killAndRestart(connection: string) {
    const i = await nodeOf(connection);
    await nats.killNode(env, i);
    return async () => {
      nats.startNode(env, i);
      await nats.ready(env);
    };
  }

  it.skipIf(process.env.CHAOS_ONLY === 'partition')(
    "kills the client's node (SIGKILL) and restarts it",
    async () => {
      await fault("kill client's node", 'TCP reset, default reconnect', () => killAndRestart('chaos-client'));
    },
    180_000,
  );

  it.skipIf(process.env.CHAOS_ONLY === 'partition')(
    "kills the server's node (SIGKILL) and restarts it",
    async () => {
      await fault("kill server's node", 'TCP reset, default reconnect', () => killAndRestart('chaos-server'));
    },
    180_000,
  );

  it("partitions the client's node away (nftables) and heals it", async () => {
    await fault("partition client's node", 'pings 1 s x 3, connect timeout 2 s (tuned)', async () => {
      const node = env.nats[await nodeOf('chaos-client')];
      partition({ gid: node.gid, ports: [node.port, node.routePort] });
      return async () => {
        heal();
        await nats.ready(env);
      };
    });
  }, 180_000);

  it('kills a worker mid-request: a typed error, never a hang (core NATS is at most once)', async () => {
    const worker = await WorkerProcess.start('nats', servers.join(','));
    const t = Date.now();
    const reply = lastValueFrom(client.send<number>('chaos.held', 21)).then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    await worker.waitFor('held');
    await worker.kill();
    const outcome = await reply;
    const elapsed = Date.now() - t;
    expect(outcome).toEqual({ e: expect.any(RpcTimeoutError) });
    expect(elapsed).toBeLessThan(DEFAULT_REQUEST_TIMEOUT_MS + HUNG_MARGIN_MS);
    rows.push({
      fault: 'kill worker mid-request',
      sent: 1,
      ok: 0,
      errors: { [(outcome as { e: RpcTimeoutError }).e.code]: 1 },
      hung: 0,
      mismatched: 0,
      recoveryMs: -1,
      detection: `request timeout ${DEFAULT_REQUEST_TIMEOUT_MS} ms`,
    });
  }, 60_000);
});
