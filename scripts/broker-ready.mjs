// Readiness probe used by scripts/brokers.sh.
//
//   node scripts/broker-ready.mjs <kafka|rabbitmq> <timeoutSeconds> [pidToWatch]
//
// Retries a real client operation until it succeeds (exit 0) or the timeout passes (exit 1):
//   kafka     kafkajs admin connects and lists topics on KAFKA_BROKERS (default 127.0.0.1:9092)
//   rabbitmq  amqplib opens an AMQP connection and a channel on AMQP_URL (default guest on 127.0.0.1:5672)
// (NATS needs no client library: brokers.sh reads the server's INFO line itself.)
// When pidToWatch is given and that process exits, the probe gives up at once (exit 2).
import { setTimeout as sleep } from 'node:timers/promises';

const [kind, timeoutArg = '60', pidArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg) * 1000;
const watchedPid = pidArg ? Number(pidArg) : undefined;

async function probeKafka() {
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({
    clientId: 'brokers-sh-ready',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeRabbit() {
  const amqp = (await import('amqplib')).default;
  const conn = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', {
    timeout: 2000,
  });
  try {
    const ch = await conn.createChannel();
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }
}

const probes = { kafka: probeKafka, rabbitmq: probeRabbit };
const probe = probes[kind];
if (!probe) {
  console.error(
    `usage: node scripts/broker-ready.mjs <${Object.keys(probes).join('|')}> <timeoutSeconds> [pid]`,
  );
  process.exit(64);
}

function watchedProcessGone() {
  if (watchedPid === undefined) return false;
  try {
    process.kill(watchedPid, 0);
    return false;
  } catch (err) {
    return err.code === 'ESRCH';
  }
}

let lastError;
for (;;) {
  try {
    await probe();
    process.exit(0);
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') {
      console.error(`${kind}: client library missing (${err.message}); run npm ci first`);
      process.exit(3);
    }
    lastError = err;
  }
  if (watchedProcessGone()) {
    console.error(`${kind}: broker process ${watchedPid} exited before becoming ready`);
    process.exit(2);
  }
  if (Date.now() >= deadline) {
    console.error(`${kind}: not ready after ${timeoutArg}s: ${lastError?.message ?? lastError}`);
    process.exit(1);
  }
  await sleep(250);
}
