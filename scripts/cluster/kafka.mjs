// A 3-node Kafka cluster (KRaft, every node broker + controller) on loopback: one JVM per node with
// its own broker and controller port (scripts/broker-env.mjs clusterEnv()), its own data and log
// folder, a bounded heap and a static controller quorum of all three. Topics default to replication
// factor 3 and min.insync.replicas 2; leadership is not moved back to a restarted node. Ready when all
// three brokers are registered and unfenced, which the active controller only commits with a quorum
// behind it, and, for the topics asked about, every partition has all three replicas in sync.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../broker-env.mjs';
import { kill, pidOf, start, stop, waitFor } from './proc.mjs';

const run = promisify(execFile);
/** Seconds to wait for the cluster to form. */
export const DEFAULT_KAFKA_CLUSTER_TIMEOUT_S = 180;
/** Heap of each node: three share a small machine. */
export const KAFKA_CLUSTER_HEAP = ['-Xms256m', '-Xmx512m'];
/**
 * Tuned (defaults 9 000 / 2 000 ms): a controller fences a broker that sent no heartbeat for this
 * long and moves the leadership of its partitions; a SIGKILLed broker is noticed no sooner.
 */
export const KAFKA_BROKER_SESSION_TIMEOUT_MS = 4_000;
export const KAFKA_BROKER_HEARTBEAT_INTERVAL_MS = 1_000;
/**
 * Tuned (default 30 000 ms): a follower that stopped fetching leaves the ISR after this long; until
 * then a produce with acks=all to its partitions waits. A killed broker leaves every ISR when fenced.
 */
export const KAFKA_REPLICA_LAG_TIME_MAX_MS = 10_000;
/**
 * Tuned (defaults 2 000 / 1 000 ms): a controller that has heard nothing from the active controller for
 * the fetch timeout stands for election after a random wait of up to the election timeout. When the
 * killed node was the active controller, the new one starts every broker's session afresh, so its
 * partitions move this much later than another node's.
 */
export const KAFKA_QUORUM_FETCH_TIMEOUT_MS = 1_000;
export const KAFKA_QUORUM_ELECTION_TIMEOUT_MS = 500;

const LIBS = process.env.BROKERS_KAFKA_LIBS ?? join(ROOT, '.brokers/kafka-libs');
const dirOf = (env) => join(env.stateDir, 'kafka');
const nodeDir = (env, node) => join(dirOf(env), node.name);

function java(env, node) {
  return [
    ...KAFKA_CLUSTER_HEAP,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(ROOT, 'scripts/kafka/log4j2.properties')}`,
    `-Dkafka.logs.dir=${join(nodeDir(env, node), 'logs')}`,
    '-cp',
    `${LIBS}/*`,
  ];
}

function config(env, node) {
  const voters = env.kafka.map((n) => `${n.nodeId}@${env.host}:${n.controllerPort}`).join(',');
  return [
    '# Written by scripts/cluster/kafka.mjs: one node of a 3-node KRaft cluster (broker + controller).',
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://${env.host}:${node.port},CONTROLLER://${env.host}:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${env.host}:${node.port},CONTROLLER://${env.host}:${node.controllerPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(nodeDir(env, node), 'data')}`,
    'num.partitions=3',
    'default.replication.factor=3',
    'min.insync.replicas=2',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=3',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.replication.factor=3',
    'transaction.state.log.min.isr=2',
    'share.coordinator.state.topic.replication.factor=3',
    'share.coordinator.state.topic.min.isr=2',
    'group.initial.rebalance.delay.ms=0',
    `controller.quorum.fetch.timeout.ms=${KAFKA_QUORUM_FETCH_TIMEOUT_MS}`,
    `controller.quorum.election.timeout.ms=${KAFKA_QUORUM_ELECTION_TIMEOUT_MS}`,
    `broker.session.timeout.ms=${KAFKA_BROKER_SESSION_TIMEOUT_MS}`,
    `broker.heartbeat.interval.ms=${KAFKA_BROKER_HEARTBEAT_INTERVAL_MS}`,
    `replica.lag.time.max.ms=${KAFKA_REPLICA_LAG_TIME_MAX_MS}`,
    // a restarted node does not take its partitions back: leaders move only when a fault moves them
    'auto.leader.rebalance.enable=false',
    'num.network.threads=2',
    'num.io.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'background.threads=2',
    '',
  ].join('\n');
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, not starting with "-". */
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Writes every node's configuration and formats the storage of those never formatted. */
async function prepare(env) {
  if (!existsSync(join(LIBS, '.stamp'))) {
    throw new Error(`no Kafka jars in ${LIBS}: run scripts/brokers.sh cluster install kafka`);
  }
  const idFile = join(dirOf(env), 'cluster-id');
  mkdirSync(dirOf(env), { recursive: true });
  if (!existsSync(idFile)) writeFileSync(idFile, `${clusterId()}\n`);
  const id = readFileSync(idFile, 'utf8').trim();
  await Promise.all(
    env.kafka.map(async (node) => {
      const dir = nodeDir(env, node);
      for (const sub of ['data', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
      const file = join(dir, 'server.properties');
      writeFileSync(file, config(env, node));
      if (existsSync(join(dir, 'data', 'meta.properties'))) return;
      const args = [...java(env, node), 'kafka.tools.StorageTool', 'format', '--cluster-id', id];
      await run('java', [...args, '--config', file], { timeout: 120_000 }).catch((err) => {
        throw new Error(`formatting ${node.name}'s KRaft storage failed: ${err.stderr || err.message}`);
      });
    }),
  );
}

/** Starts node `i` (0..2) unless it runs; its storage must be formatted (`up` does it). */
export function startNode(env, i) {
  const node = env.kafka[i];
  const dir = dirOf(env);
  if (pidOf(dir, node.name) !== undefined) return;
  const file = join(nodeDir(env, node), 'server.properties');
  start(dir, node.name, 'java', [...java(env, node), 'kafka.Kafka', file], {}, node.gid);
}

/** A kafkajs admin on every node of the cluster, quick to give up: readiness polls it. */
export async function admin(env) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({
    clientId: 'cluster-ready',
    brokers: env.kafka.map((n) => n.broker),
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const a = kafka.admin();
  await a.connect();
  return a;
}

async function withAdmin(env, fn) {
  const a = await admin(env);
  try {
    return await fn(a);
  } finally {
    await a.disconnect().catch(() => {});
  }
}

/** The node ids of the registered, unfenced brokers. */
async function brokerIds(a) {
  const { brokers } = await a.describeCluster();
  return new Set(brokers.map((b) => b.nodeId));
}

/**
 * The partitions of `topics`, each `{ topic, partition, leader, replicas, isr }` (node ids), from the
 * metadata of a running node.
 */
export function partitionsOf(env, topics) {
  return withAdmin(env, async (a) => {
    const { topics: meta } = await a.fetchTopicMetadata({ topics });
    return meta.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      })),
    );
  });
}

/** Whether every partition of `topics` has a leader and all its replicas in sync. */
async function settled(env, topics) {
  if (topics.length === 0) return true;
  const parts = await partitionsOf(env, topics);
  return parts.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
}

/**
 * Waits until all three brokers are registered and unfenced and, for `topics`, every partition has a
 * leader and all its replicas in sync.
 */
export async function ready(env, topics = [], timeoutMs = DEFAULT_KAFKA_CLUSTER_TIMEOUT_S * 1000) {
  const running = env.kafka.filter((n) => pidOf(dirOf(env), n.name) !== undefined).map((n) => n.name);
  await waitFor(
    'kafka cluster',
    async () => {
      const ids = await withAdmin(env, brokerIds);
      if (!env.kafka.every((n) => ids.has(n.nodeId))) return false;
      return settled(env, topics);
    },
    { timeoutMs, dir: dirOf(env), watch: running },
  );
}

export async function up(env) {
  await prepare(env);
  for (let i = 0; i < env.kafka.length; i++) startNode(env, i);
  await ready(env);
}

export async function down(env) {
  await Promise.all(env.kafka.map((n) => stop(dirOf(env), n.name, { timeoutMs: 30_000 })));
}

export const killNode = (env, i) => kill(dirOf(env), env.kafka[i].name);

/**
 * The node id of the active controller, from the nodes' logs: the node that last logged becoming it,
 * at the highest epoch (kafkajs's describeCluster names a random broker as "controller" on KRaft).
 * undefined when no node has logged it.
 */
export function activeController(env) {
  let best;
  for (const node of env.kafka) {
    let log;
    try {
      log = readFileSync(join(dirOf(env), `${node.name}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const m of log.matchAll(/Becoming the active controller at epoch (\d+)/g)) {
      const epoch = Number(m[1]);
      if (!best || epoch > best.epoch) best = { epoch, nodeId: node.nodeId };
    }
  }
  return best?.nodeId;
}

/** The node (index) with node id `id`. */
export const indexOf = (env, id) => env.kafka.findIndex((n) => n.nodeId === id);

export async function status(env) {
  const ids = await withAdmin(env, brokerIds).catch(() => new Set());
  return env.kafka.map((node) => {
    const pid = pidOf(dirOf(env), node.name);
    const state = ids.has(node.nodeId) ? 'registered' : 'not registered';
    return `${node.name} node.id ${node.nodeId} ${node.broker} controller ${env.host}:${node.controllerPort} ${pid ? `pid ${pid}` : 'stopped'} ${state}`;
  });
}
