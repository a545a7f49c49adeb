// The secure listeners of a set of brokers (scripts/broker-env.mjs), for the authentication and TLS
// tests: TLS with a certificate authority of the set's own, and credentials that are not the default.
//
//   node scripts/secure-brokers.mjs up|down|status [nats|rabbitmq|kafka]...   (no broker = all three)
//
//   certificates  openssl: a CA, a server certificate it signs (127.0.0.1, localhost) and a second CA
//                 that signed nothing (the "untrusted" one), in <state>/secure/ (git-ignored)
//   credentials   user `rpc-user` with a random password, and an nkey (NATS), in <state>/secure/credentials.json
//   nats          a second nats-server next to the plain one: TLS on NATS_TLS_PORT, user/password and nkey users
//   rabbitmq      on the set's running node (rabbitmqctl eval): vhost `rpc-secure`, the user with all
//                 rights on it only, and an AMQPS listener on AMQPS_PORT (gone when the node restarts;
//                 `up` adds it again)
//   kafka         the SASL_SSL listener on KAFKA_SASL_SSL_PORT is in the broker's own configuration
//                 (scripts/brokers.sh: KRaft adds no listener at run time; it runs `certs` first);
//                 `up` adds the SCRAM-SHA-512 user (kafka-configs) unless it can log in already,
//                 and restarts a Kafka of the set started before that listener existed
//
//   node scripts/secure-brokers.mjs certs   only makes the certificates (scripts/brokers.sh)
//
// `up` needs the set's plain brokers to be running (scripts/brokers.sh up) where a secure listener
// lives in them; it reuses what already answers, so it is cheap to call before every secure spec.
// `down` stops only the processes this script started (the secure nats-server).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TextDecoder } from 'node:util';
import { brokerEnv, ROOT } from './broker-env.mjs';

const SECURE_BROKERS = ['nats', 'rabbitmq', 'kafka'];
/** How long `up` waits for a secure listener to answer, in milliseconds. */
const DEFAULT_READY_TIMEOUT_MS = 30_000;
export const SECURE_USER = 'rpc-user';

/** Runs openssl, throwing with its output when it fails. */
function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The CA, the server certificate and the untrusted CA, made once per state folder. */
function ensureCertificates(dir) {
  const files = {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    untrustedCa: join(dir, 'untrusted-ca.crt'),
  };
  const keystore = join(dir, 'server-keystore.pem');
  if ([...Object.values(files), keystore].every((f) => existsSync(f))) return files;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=nestjs-broker-rpc test CA',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'untrusted-ca.key',
      '-out',
      'untrusted-ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=untrusted test CA',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '3650',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  // Kafka's PEM key store: the key and its certificate in one file
  writeFileSync(keystore, readFileSync(files.key, 'utf8') + readFileSync(files.cert, 'utf8'), {
    mode: 0o600,
  });
  return files;
}

/** The credentials of the set: made once, kept readable by the owner only. */
async function ensureCredentials(dir) {
  const file = join(dir, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const { createUser } = await import('@nats-io/nkeys');
  const nkey = createUser();
  const credentials = {
    user: SECURE_USER,
    password: randomBytes(18).toString('base64url'),
    nkeySeed: new TextDecoder().decode(nkey.getSeed()),
    nkeyPublic: nkey.getPublicKey(),
    vhost: 'rpc-secure',
  };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

function portOpen(host, port) {
  return new Promise((done) => {
    const socket = tcpConnect({ host, port: Number(port) });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('timeout', () => (socket.destroy(), done(false)));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(host, port, what, timeoutMs, alive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(host, port))) {
    if (!alive()) throw new Error(`${what} exited before it listened on ${host}:${port}`);
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function pidAlive(file) {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    rmSync(file, { force: true });
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------- NATS
async function natsUp(env, dir, tls, credentials, timeoutMs) {
  const natsDir = join(dir, 'nats');
  const pidFile = join(natsDir, 'nats.pid');
  if (pidAlive(pidFile) && (await portOpen(env.BROKERS_HOST, env.NATS_TLS_PORT))) return;
  if (await portOpen(env.BROKERS_HOST, env.NATS_TLS_PORT))
    throw new Error(
      `nats: ${env.BROKERS_HOST}:${env.NATS_TLS_PORT} is taken by a process this script did not start`,
    );
  mkdirSync(natsDir, { recursive: true });
  const config = join(natsDir, 'nats.conf');
  writeFileSync(
    config,
    [
      '# Written by scripts/secure-brokers.mjs',
      `listen: "${env.BROKERS_HOST}:${env.NATS_TLS_PORT}"`,
      `server_name: "secure-brokers-nats-${env.NATS_TLS_PORT}"`,
      `tls { cert_file: "${tls.cert}", key_file: "${tls.key}", timeout: 2 }`,
      'authorization {',
      '  users: [',
      `    { user: "${credentials.user}", password: "${credentials.password}" }`,
      `    { nkey: "${credentials.nkeyPublic}" }`,
      '  ]',
      '}',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const log = openSync(join(natsDir, 'nats.log'), 'a');
  const child = spawn('nats-server', ['--config', config], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitForPort(env.BROKERS_HOST, env.NATS_TLS_PORT, 'nats (secure)', timeoutMs, () => !exited);
}

function natsDown(dir) {
  const pidFile = join(dir, 'nats', 'nats.pid');
  const pid = pidAlive(pidFile);
  if (pid) process.kill(pid, 'SIGTERM');
  rmSync(pidFile, { force: true });
  return pid;
}

// ------------------------------------------------------------------------------------------ RabbitMQ
/** rabbitmqctl against the set's node, with the environment scripts/brokers.sh gives it. */
function rabbitmqctl(env, ...args) {
  const state = join(env.BROKERS_STATE_DIR, 'rabbitmq');
  return execFileSync('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOME: join(state, 'home'),
      RABBITMQ_CONF_ENV_FILE: join(state, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: env.RABBIT_NODENAME,
      RABBITMQ_USE_LONGNAME: 'false',
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_CRASH_DUMP: join(state, 'erl_crash.dump'),
      RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    },
  });
}

async function rabbitUp(env, dir, tls, credentials) {
  if (await portOpen(env.BROKERS_HOST, env.AMQPS_PORT)) return;
  if (!(await portOpen(env.BROKERS_HOST, env.AMQP_PORT)))
    throw new Error(`rabbitmq: the set's node is not running (scripts/brokers.sh up rabbitmq first)`);
  // the node reads the password from a file: it never appears on a command line
  const passwordFile = join(dir, 'rabbitmq-password');
  writeFileSync(passwordFile, credentials.password, { mode: 0o600 });
  const bin = (text) => `<<"${text}">>`;
  const str = (text) => JSON.stringify(text);
  // rabbit_networking:start_ssl_listener is what the node runs for `listeners.ssl` at boot
  const result = rabbitmqctl(
    env,
    'eval',
    `V = ${bin(credentials.vhost)}, U = ${bin(credentials.user)}, Who = <<"secure-brokers">>,
     {ok, P} = file:read_file(${str(passwordFile)}),
     ok = case rabbit_vhost:exists(V) of true -> ok; false -> rabbit_vhost:add(V, Who) end,
     ok = case rabbit_auth_backend_internal:lookup_user(U) of
            {ok, _} -> rabbit_auth_backend_internal:change_password(U, P, Who);
            _ -> rabbit_auth_backend_internal:add_user(U, P, Who)
          end,
     ok = rabbit_auth_backend_internal:set_permissions(U, V, <<".*">>, <<".*">>, <<".*">>, Who),
     rabbit_networking:start_ssl_listener({${str(env.BROKERS_HOST)}, ${env.AMQPS_PORT}},
       [{cacertfile, ${str(tls.ca)}}, {certfile, ${str(tls.cert)}}, {keyfile, ${str(tls.key)}},
        {verify, verify_none}, {fail_if_no_peer_cert, false}], 1).`,
  );
  if (result.trim() !== 'ok') throw new Error(`rabbitmq: adding the AMQPS listener failed: ${result.trim()}`);
}

// --------------------------------------------------------------------------------------------- Kafka
/** Whether the user logs in with SCRAM-SHA-512 over TLS; the refusal, if it is one, else throws. */
async function kafkaLogin(env, tls, credentials) {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const admin = new Kafka({
    clientId: 'secure-brokers',
    brokers: [`${env.BROKERS_HOST}:${env.KAFKA_SASL_SSL_PORT}`],
    ssl: { ca: [readFileSync(tls.ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: credentials.user, password: credentials.password },
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    return true;
  } catch (err) {
    if (err?.name === 'KafkaJSSASLAuthenticationError') return false;
    throw err;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function kafkaUp(env, dir, tls, credentials, timeoutMs) {
  const { BROKERS_HOST: host } = env;
  if (!(await portOpen(host, env.KAFKA_SASL_SSL_PORT))) {
    if (!(await portOpen(host, env.KAFKA_PORT)))
      throw new Error(`kafka: the set's broker is not running (scripts/brokers.sh up kafka first)`);
    // started by a brokers.sh from before the SASL_SSL listener: its configuration is rewritten on start
    execFileSync('bash', [join(ROOT, 'scripts/brokers.sh'), 'restart', 'kafka'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForPort(host, env.KAFKA_SASL_SSL_PORT, 'kafka (SASL_SSL)', timeoutMs);
  }
  if (await kafkaLogin(env, tls, credentials)) return;
  // kafka-configs takes SCRAM credentials on its command line only (its --add-config-file does not
  // parse them): a test password of this set, on loopback; its output is redacted if it fails
  try {
    execFileSync(
      'java',
      [
        '-Xmx128m',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j2.configurationFile=${join(ROOT, 'scripts/kafka/log4j2.properties')}`,
        '-cp',
        `${process.env.BROKERS_KAFKA_LIBS ?? join(ROOT, '.brokers/kafka-libs')}/*`,
        'kafka.admin.ConfigCommand',
        '--bootstrap-server',
        env.KAFKA_BROKERS,
        '--alter',
        '--entity-type',
        'users',
        '--entity-name',
        credentials.user,
        '--add-config',
        `SCRAM-SHA-512=[iterations=4096,password=${credentials.password}]`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.split(credentials.password).join('[redacted]');
    // no cause: the child's error names its command line, password included
    // eslint-disable-next-line preserve-caught-error
    throw new Error(
      `kafka: adding the SCRAM user failed:\n${output.trim().split('\n').slice(-10).join('\n')}`,
    );
  }
  // the credentials reach the listener through the metadata log: wait until the login works
  const deadline = Date.now() + timeoutMs;
  while (!(await kafkaLogin(env, tls, credentials))) {
    if (Date.now() > deadline) throw new Error(`kafka: the SCRAM user cannot log in within ${timeoutMs} ms`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------- main
/**
 * Brings up the secure listeners of a set and says how to reach them.
 * @param {{ brokers?: string[], env?: ReturnType<typeof brokerEnv>, timeoutMs?: number }} [options]
 */
export async function secureBrokersUp(options = {}) {
  const env = options.env ?? brokerEnv();
  const brokers = options.brokers ?? SECURE_BROKERS;
  const dir = resolve(env.BROKERS_STATE_DIR, 'secure');
  mkdirSync(dir, { recursive: true });
  const tls = ensureCertificates(dir);
  const credentials = await ensureCredentials(dir);
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  for (const broker of brokers) {
    if (broker === 'nats') await natsUp(env, dir, tls, credentials, timeoutMs);
    if (broker === 'rabbitmq') await rabbitUp(env, dir, tls, credentials);
    if (broker === 'kafka') await kafkaUp(env, dir, tls, credentials, timeoutMs);
  }
  return {
    tls,
    credentials,
    natsUrl: env.NATS_TLS_URL,
    amqpsUrl: `amqps://${env.BROKERS_HOST}:${env.AMQPS_PORT}`,
    kafkaBrokers: [`${env.BROKERS_HOST}:${env.KAFKA_SASL_SSL_PORT}`],
  };
}

/** Stops what `up` started. @param {{ env?: ReturnType<typeof brokerEnv> }} [options] */
export function secureBrokersDown(options = {}) {
  const env = options.env ?? brokerEnv();
  return { nats: natsDown(resolve(env.BROKERS_STATE_DIR, 'secure')) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...named] = process.argv.slice(2);
  const brokers = named.length ? named : SECURE_BROKERS;
  const unknown = brokers.filter((b) => !SECURE_BROKERS.includes(b));
  if (command === 'certs') {
    const env = brokerEnv();
    const dir = resolve(env.BROKERS_STATE_DIR, 'secure');
    mkdirSync(dir, { recursive: true });
    ensureCertificates(dir);
    process.exit(0);
  }
  if (!['up', 'down', 'status'].includes(command) || unknown.length) {
    console.error(`usage: node scripts/secure-brokers.mjs up|down|status [${SECURE_BROKERS.join('|')}]...`);
    process.exit(64);
  }
  const env = brokerEnv();
  const ports = { nats: env.NATS_TLS_PORT, rabbitmq: env.AMQPS_PORT, kafka: env.KAFKA_SASL_SSL_PORT };
  if (command === 'up') {
    const t0 = performance.now();
    await secureBrokersUp({ brokers, env });
    console.log(
      `[secure-brokers] up: ${brokers.join(' ')} in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
    );
  } else if (command === 'down') {
    const { nats } = secureBrokersDown({ env });
    console.log(`[secure-brokers] nats: ${nats ? `stopped (pid ${nats})` : 'not running'}`);
  } else {
    let down = 0;
    for (const b of brokers) {
      const up = await portOpen(env.BROKERS_HOST, ports[b]);
      if (!up) down = 1;
      console.log(`${b.padEnd(9)} ${up ? 'up  ' : 'down'}  ${env.BROKERS_HOST}:${ports[b]}`);
    }
    process.exit(down);
  }
}
