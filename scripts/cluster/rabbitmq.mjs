// A 3-node RabbitMQ cluster on loopback: RabbitMQ 4.0.5 on Erlang 27 from Debian 13 (installed into
// .brokers/ by ./rabbitmq-4.mjs; bookworm's 3.10 drops publishes when a quorum queue's leader dies)
// run three times with distinct node names, AMQP and distribution ports (scripts/broker-env.mjs
// clusterEnv()), one shared Erlang cookie, classic-config peer discovery and
// `cluster_partition_handling = pause_minority`. Ready when every node reports all three running
// (`rabbitmqctl cluster_status`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kill, pidOf, start, stop, waitFor } from './proc.mjs';
import { ERLANG_BIN, RABBIT4_BIN as BIN, install } from './rabbitmq-4.mjs';

const run = promisify(execFile);
/** Seconds to wait for the cluster to form. */
export const DEFAULT_RABBIT_CLUSTER_TIMEOUT_S = 180;
/** Distribution tick (s): how soon a silent peer counts as down. RabbitMQ's default is 60. */
export const RABBIT_NET_TICKTIME_S = 10;

const dirOf = (env) => join(env.stateDir, 'rabbitmq');

/** The environment of the RabbitMQ scripts for `node`: all state under its folder, the shared cookie. */
function nodeEnv(env, node) {
  const dir = join(dirOf(env), node.name);
  return {
    HOME: join(dirOf(env), 'home'), // holds the shared .erlang.cookie
    PATH: `${ERLANG_BIN}:${process.env.PATH}`, // the scripts run `erl`: trixie's OTP 27, not bookworm's 25
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: join(dir, 'log', 'rabbit.log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_NODENAME: node.nodename,
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_DIST_PORT: String(node.distPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS:
      `-kernel inet_dist_use_interface {127,0,0,1} -kernel net_ticktime ${RABBIT_NET_TICKTIME_S} ` +
      '+sbwt none +sbwtdcpu none +sbwtdio none',
  };
}

function prepare(env, node) {
  const dir = join(dirOf(env), node.name);
  for (const sub of ['mnesia', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const home = join(dirOf(env), 'home');
  mkdirSync(home, { recursive: true });
  const cookie = join(home, '.erlang.cookie');
  if (!existsSync(cookie)) {
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
    chmodSync(cookie, 0o400);
  }
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  if (!existsSync(join(dir, 'enabled_plugins'))) writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = ${env.host}:${node.port}`,
      'loopback_users.guest = true',
      'cluster_partition_handling = pause_minority',
      'cluster_formation.peer_discovery_backend = classic_config',
      ...env.rabbitmq.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n.nodename}`),
      'log.file.level = info',
      'log.console = false',
      '',
    ].join('\n'),
  );
}

/** Runs rabbitmqctl against node `i`. */
export async function ctl(env, i, args, timeoutMs = 30_000) {
  const node = env.rabbitmq[i];
  const { stdout } = await run(`${BIN}/rabbitmqctl`, ['-n', node.nodename, ...args], {
    env: { ...process.env, ...nodeEnv(env, node) },
    timeout: timeoutMs,
  });
  return stdout;
}

/** Starts node `i` (0..2) unless it runs. */
export function startNode(env, i) {
  const node = env.rabbitmq[i];
  if (pidOf(dirOf(env), node.name) !== undefined) return;
  prepare(env, node);
  start(dirOf(env), node.name, `${BIN}/rabbitmq-server`, [], nodeEnv(env, node), node.gid);
}

async function clusterStatus(env, i) {
  return JSON.parse(await ctl(env, i, ['cluster_status', '--formatter', 'json']));
}

async function running(env, i) {
  return new Set((await clusterStatus(env, i)).running_nodes ?? []);
}

/**
 * Waits until every node reports all three running and no partition: a node restarted right after a
 * kill can come back seeing a partitioned Mnesia, which one node's view alone does not show.
 */
export async function ready(env, _i = 0, timeoutMs = DEFAULT_RABBIT_CLUSTER_TIMEOUT_S * 1000) {
  await waitFor(
    'rabbitmq cluster',
    async () => {
      for (let i = 0; i < env.rabbitmq.length; i++) {
        const status = await clusterStatus(env, i);
        const nodes = new Set(status.running_nodes ?? []);
        const partitions = Object.keys(status.partitions ?? {}).length;
        if (partitions > 0 || !env.rabbitmq.every((n) => nodes.has(n.nodename))) return false;
      }
      return true;
    },
    { timeoutMs, dir: dirOf(env), watch: env.rabbitmq.map((n) => n.name) },
  );
}

export async function up(env) {
  await install();
  // all three at once (4.0's peer discovery picks the seed among them): the first node of a fresh
  // cluster started alone waited in peer discovery for more than 4 minutes
  for (let i = 0; i < env.rabbitmq.length; i++) startNode(env, i);
  await ready(env);
}

export async function down(env) {
  // SIGTERM makes rabbitmq-server stop the node cleanly
  await Promise.all(env.rabbitmq.map((n) => stop(dirOf(env), n.name, { timeoutMs: 60_000 })));
  await run('epmd', ['-kill'], { env: { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.1' } }).catch(() => {});
}

export const killNode = async (env, i) => {
  // the Erlang VM (beam.smp) is the child of the rabbitmq-server script: kill the whole group
  return kill(dirOf(env), env.rabbitmq[i].name);
};

export async function status(env) {
  const lines = [];
  for (let i = 0; i < env.rabbitmq.length; i++) {
    const node = env.rabbitmq[i];
    const pid = pidOf(dirOf(env), node.name);
    let members = '-';
    if (pid) members = String((await running(env, i).catch(() => new Set())).size);
    lines.push(
      `${node.name} ${node.nodename} amqp://${env.host}:${node.port} ${pid ? `pid ${pid}` : 'stopped'} running ${members}`,
    );
  }
  return lines;
}

/** The node (index) hosting the leader of quorum queue `queue`, asked of running node `via`. */
export async function leaderOf(env, queue, via) {
  const rows = JSON.parse(await ctl(env, via, ['list_queues', 'name', 'leader', '--formatter', 'json']));
  const row = rows.find((r) => r.name === queue);
  const i = env.rabbitmq.findIndex((n) => n.nodename === row?.leader);
  return i < 0 ? undefined : i;
}

/** Moves the leader of quorum queue `queue` to node `to` (asked of running node `via`) and waits until it leads. */
export async function moveLeader(env, queue, to, via) {
  const name = env.rabbitmq[to].nodename;
  await ctl(env, via, [
    'eval',
    `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"${queue}">>)), rabbit_quorum_queue:transfer_leadership(Q, '${name}').`,
  ]);
  await waitFor(`${queue} led by ${name}`, async () => (await leaderOf(env, queue, via)) === to, {
    timeoutMs: 30_000,
    dir: dirOf(env),
  });
}

/** The node (index) whose AMQP port connection named `name` is attached to. */
export async function nodeOfConnection(env, name, via) {
  const rows = JSON.parse(
    await ctl(env, via, ['list_connections', 'port', 'client_properties', '--formatter', 'json']),
  );
  for (const row of rows) {
    const props = JSON.stringify(row.client_properties ?? '');
    if (props.includes(name)) {
      const i = env.rabbitmq.findIndex((n) => n.port === row.port);
      if (i >= 0) return i;
    }
  }
  return undefined;
}

/** What node `i` runs, asked of it: `{ rabbitmq: '4.0.5', erlang: '27.3.4.1' }`. */
export async function versions(env, i) {
  const rabbitmq = (await ctl(env, i, ['version'])).trim();
  const otp = await ctl(env, i, [
    'eval',
    'file:read_file(filename:join([code:root_dir(), "releases", erlang:system_info(otp_release), "OTP_VERSION"])).',
  ]);
  return { rabbitmq, erlang: /<<"([^"\\]+)/.exec(otp)?.[1] ?? otp.trim() };
}

const PAUSED = 'Cluster minority/secondary status detected';

/**
 * Waits until node `i` has paused (pause_minority) since `since` (ms since the epoch), which it logs;
 * asked of its log because a cut-off node answers no rabbitmqctl.
 */
export async function awaitPaused(env, i, since, timeoutMs = 60_000) {
  const file = join(dirOf(env), env.rabbitmq[i].name, 'log', 'rabbit.log');
  await waitFor(
    `${env.rabbitmq[i].name} paused (pause_minority)`,
    () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .some((l) => l.includes(PAUSED) && Date.parse(l.slice(0, 32).replace(' ', 'T')) >= since),
    { timeoutMs, dir: dirOf(env), watch: [env.rabbitmq[i].name] },
  );
}
