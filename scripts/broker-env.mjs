// Where a set of brokers listens and keeps its state: the one port/state scheme that
// scripts/brokers.sh, the test setup, the demo and the benchmarks share.
//
//   node scripts/broker-env.mjs            prints the set's variables as shell assignments
//
// A set is chosen by two environment variables:
//   BROKERS_PORT_BASE  unset: the standard ports (NATS 4222, AMQP 5672, Kafka 9092; the secure
//                      listeners of scripts/secure-brokers.mjs: NATS TLS 4223, AMQPS 5671, Kafka
//                      SASL_SSL 9094), state in .brokers/
//                      a number B: NATS B+222, AMQP B+672, Erlang distribution B+673, Kafka B+92,
//                      Kafka controller B+93; B+100..B+199 are reserved for clusters and TLS listeners,
//                      of which NATS TLS B+150, AMQPS B+151 and Kafka SASL_SSL B+152 are taken;
//                      state in .brokers/set-B/
//   BROKERS_STATE_DIR  overrides the state folder of either
// The test suite runs its own set (base 14000 unless TEST_BROKERS_PORT_BASE says otherwise), so it
// neither depends on nor disturbs brokers a user runs on the standard ports.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
export const HOST = '127.0.0.1';
/** The test suite's port base when TEST_BROKERS_PORT_BASE is unset. */
export const TEST_PORT_BASE = 14_000;

/**
 * The addresses and state of one set of brokers.
 * @param {{ portBase?: number | string, stateDir?: string }} [options] defaults: the environment
 */
export function brokerEnv(options = {}) {
  const raw = options.portBase ?? process.env.BROKERS_PORT_BASE ?? '';
  const base = raw === '' ? undefined : Number(raw);
  if (base !== undefined && !(Number.isInteger(base) && base >= 1024 && base <= 65_000)) {
    throw new RangeError(`BROKERS_PORT_BASE must be an integer from 1024 to 65000, got ${raw}`);
  }
  const port = (standard, offset) => (base === undefined ? standard : base + offset);
  const state = resolve(
    ROOT,
    options.stateDir ??
      process.env.BROKERS_STATE_DIR ??
      (base === undefined ? '.brokers' : `.brokers/set-${base}`),
  );
  const natsPort = port(4222, 222);
  const amqpPort = port(5672, 672);
  const kafkaPort = port(9092, 92);
  const natsTlsPort = port(4223, 150);
  return {
    BROKERS_PORT_BASE: base === undefined ? '' : String(base),
    BROKERS_STATE_DIR: state,
    BROKERS_HOST: HOST,
    NATS_PORT: String(natsPort),
    AMQP_PORT: String(amqpPort),
    RABBIT_DIST_PORT: String(port(25672, 673)),
    // one Erlang node name per set: nodes of several sets register with the same epmd
    RABBIT_NODENAME: base === undefined ? 'rabbit@localhost' : `rabbit${base}@localhost`,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(port(9093, 93)),
    NATS_URL: `nats://${HOST}:${natsPort}`,
    AMQP_URL: `amqp://guest:guest@${HOST}:${amqpPort}`,
    KAFKA_BROKERS: `${HOST}:${kafkaPort}`,
    // the secure listeners (scripts/secure-brokers.mjs): TLS with authentication
    NATS_TLS_PORT: String(natsTlsPort),
    AMQPS_PORT: String(port(5671, 151)),
    KAFKA_SASL_SSL_PORT: String(port(9094, 152)),
    NATS_TLS_URL: `tls://${HOST}:${natsTlsPort}`,
  };
}

/**
 * The addresses and state of the 3-node clusters of one port base (scripts/cluster/): ports B+100..B+149.
 * NATS clients B+100..102, routes B+103..105, monitor B+106..108; RabbitMQ AMQP B+110..112, Erlang
 * distribution B+113..115; Kafka broker B+120+2i and controller B+121+2i for node i. Without a base the
 * clusters take base 20000. State in .brokers/cluster-B/ (or BROKERS_STATE_DIR/cluster). Each node runs
 * under a group id of its own (`gid`, when started as root), so that a partition can drop its packets.
 * @param {{ portBase?: number | string, stateDir?: string }} [options] defaults: the environment
 */
export function clusterEnv(options = {}) {
  const NODE_GID_BASE = 61_000;
  const raw = options.portBase ?? process.env.BROKERS_PORT_BASE ?? '';
  const base = raw === '' ? 20_000 : Number(raw);
  if (!(Number.isInteger(base) && base >= 1024 && base <= 65_000)) {
    throw new RangeError(`BROKERS_PORT_BASE must be an integer from 1024 to 65000, got ${raw}`);
  }
  const nodes = [0, 1, 2];
  const stateDir = resolve(
    ROOT,
    options.stateDir ??
      (process.env.BROKERS_STATE_DIR
        ? resolve(process.env.BROKERS_STATE_DIR, 'cluster')
        : `.brokers/cluster-${base}`),
  );
  return {
    base,
    host: HOST,
    stateDir,
    nats: nodes.map((i) => ({
      name: `nats${i + 1}`,
      port: base + 100 + i,
      routePort: base + 103 + i,
      monitorPort: base + 106 + i,
      gid: NODE_GID_BASE + i,
      url: `nats://${HOST}:${base + 100 + i}`,
    })),
    rabbitmq: nodes.map((i) => ({
      name: `rabbit${i + 1}`,
      nodename: `chaos${base}r${i + 1}@localhost`,
      port: base + 110 + i,
      distPort: base + 113 + i,
      gid: NODE_GID_BASE + 10 + i,
      url: `amqp://guest:guest@${HOST}:${base + 110 + i}`,
    })),
    kafka: nodes.map((i) => ({
      name: `kafka${i + 1}`,
      nodeId: i + 1,
      port: base + 120 + 2 * i,
      controllerPort: base + 121 + 2 * i,
      gid: NODE_GID_BASE + 20 + i,
      broker: `${HOST}:${base + 120 + 2 * i}`,
    })),
  };
}

/** The set the test suite uses. */
export function testBrokerEnv() {
  return brokerEnv({
    portBase: process.env.TEST_BROKERS_PORT_BASE || TEST_PORT_BASE,
    stateDir: process.env.TEST_BROKERS_STATE_DIR || undefined,
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quote = (v) => `'${String(v).replaceAll("'", "'\\''")}'`;
  for (const [name, value] of Object.entries(brokerEnv())) console.log(`${name}=${quote(value)}`);
}
