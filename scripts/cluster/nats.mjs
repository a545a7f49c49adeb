/* global fetch, AbortSignal */ // Node 20 globals the scripts ESLint config does not list
// A 3-node NATS cluster (routes) on loopback: one nats-server per node, each with its own client,
// route and monitoring port (scripts/broker-env.mjs clusterEnv()). Ready when every node has a route
// to both others (monitoring endpoint /routez).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidOf, start, stop, kill, waitFor } from './proc.mjs';

/** Seconds to wait for the cluster to form. */
export const DEFAULT_NATS_CLUSTER_TIMEOUT_S = 60;

const dirOf = (env) => join(env.stateDir, 'nats');

function config(env, node) {
  const others = env.nats.filter((n) => n !== node);
  return [
    `server_name: ${node.name}`,
    `listen: "${env.host}:${node.port}"`,
    `http: "${env.host}:${node.monitorPort}"`,
    // tuned (defaults 2m / 2): a partitioned peer or client, which sends no reset, is dropped in ~3 s
    'ping_interval: "1s"',
    'ping_max: 3',
    'cluster {',
    '  name: chaos',
    `  listen: "${env.host}:${node.routePort}"`,
    `  routes: [${others.map((o) => `"nats-route://${env.host}:${o.routePort}"`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

/** The ids of the servers node `node` has a route to, from its monitoring endpoint. */
async function routedTo(env, node) {
  const res = await fetch(`http://${env.host}:${node.monitorPort}/routez`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = await res.json();
  return new Set((body.routes ?? []).map((r) => r.remote_id));
}

/** Starts node `i` (0..2) unless it runs. */
export function startNode(env, i) {
  const node = env.nats[i];
  const dir = dirOf(env);
  if (pidOf(dir, node.name) !== undefined) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${node.name}.conf`);
  writeFileSync(file, config(env, node));
  start(dir, node.name, 'nats-server', ['-c', file], {}, node.gid);
}

/** Waits until every running node is routed to both others. */
export async function ready(env, timeoutMs = DEFAULT_NATS_CLUSTER_TIMEOUT_S * 1000) {
  const dir = dirOf(env);
  await waitFor(
    'nats cluster',
    async () => {
      for (const node of env.nats) if ((await routedTo(env, node)).size < env.nats.length - 1) return false;
      return true;
    },
    { timeoutMs, dir, watch: env.nats.map((n) => n.name) },
  );
}

export async function up(env) {
  for (let i = 0; i < env.nats.length; i++) startNode(env, i);
  await ready(env);
}

export async function down(env) {
  await Promise.all(env.nats.map((n) => stop(dirOf(env), n.name)));
}

export const killNode = (env, i) => kill(dirOf(env), env.nats[i].name);

export async function status(env) {
  const lines = [];
  for (const node of env.nats) {
    const pid = pidOf(dirOf(env), node.name);
    let routes = '-';
    if (pid) routes = String((await routedTo(env, node).catch(() => new Set())).size);
    lines.push(`${node.name} ${node.url} ${pid ? `pid ${pid}` : 'stopped'} routes ${routes}`);
  }
  return lines;
}

/** The node (index) a connection named `name` is attached to, from each node's /connz. */
export async function nodeOf(env, name) {
  for (let i = 0; i < env.nats.length; i++) {
    const node = env.nats[i];
    if (pidOf(dirOf(env), node.name) === undefined) continue;
    const res = await fetch(`http://${env.host}:${node.monitorPort}/connz?limit=1024`, {
      signal: AbortSignal.timeout(2_000),
    }).catch(() => undefined);
    if (!res) continue;
    const body = await res.json();
    if ((body.connections ?? []).some((c) => c.name === name)) return i;
  }
  return undefined;
}
