// Kafka request/reply: a raw kafkajs loop, Nest's built-in Kafka transport (ServerKafka + ClientKafka)
// and ours, in one process, on one broker: a concurrency curve with a ~100 B JSON payload, then 16 KiB
// and 256 KiB payloads. A last section runs ours through 1, 2, 4 and 8 client instances sharing one
// reply topic (every instance reads every reply, so it shows what the shared reply topic costs), and
// beside them as many instances with a reply topic each (`replyTopic`, the remedy). On a Node that
// @platformatic/kafka supports (`npm run bench` runs this file on Node 24 from scripts/node24.sh), ours
// also runs on the platformatic driver (`driver: 'platformatic'`), beside the default kafkajs one.
//
// `--c1` (npm run bench -- kafka --c1) runs the c=1, 100 B measurements alone, in 7 rounds, for the
// latency target. The client instances of the last section connect only for it, so that their idle
// reply consumers do not poll the broker through the other sections.
//
// Run: npm run bench:kafka [-- --quick]   or   npm run bench -- kafka   (the broker from
// `bash scripts/brokers.sh up kafka`; BENCH_MS, BENCH_ROUNDS: see bench/harness.ts;
// KAFKA_BROKERS=127.0.0.1:9092). Topics and groups get a random prefix and are deleted after.
import { NestFactory } from '@nestjs/core';
import { ClientKafka, Transport } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import kafkajs from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { KafkaRpcClient, KafkaRpcServer } from '../lib/kafka/index.js';
import { platformaticSupportsNode } from '../lib/kafka/driver/create-driver.js';
import {
  BROKERS,
  BENCH_MS,
  BENCH_ROUNDS,
  C1,
  CONCURRENCIES,
  LARGE_CONCURRENCIES,
  PAYLOAD_SIZES,
  QUICK,
  compare,
  finish,
  formatBytes,
  measureBrokerCpu,
  pairRatios,
  payloadOf,
  planRuns,
  plannedRuns,
  throughputTarget,
  latencyTarget,
  type Section,
  type Target,
} from './harness.js';
import { echoModule } from './echo-module.js';

const brokers = (process.env.KAFKA_BROKERS ?? BROKERS.KAFKA_BROKERS).split(',');
const prefix = `bench-${randomUUID().slice(0, 8)}`;
const PARTITIONS = 3;
/** Client instances of the reply-topic section. */
const INSTANCES = C1 ? [] : QUICK ? [1, 4] : [1, 2, 4, 8];
/** Concurrency of the reply-topic section. */
const INSTANCE_CONCURRENCY = 64;
/** Ours on the second driver, where this Node runs it. */
const PLATFORMATIC = 'ours, platformatic';
const withPlatformatic = platformaticSupportsNode(process.version);
const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };

/** Raw kafkajs: a consumer that echoes each request to its reply topic, and a correlation map on the caller. */
async function rawKafkajs(kafka: InstanceType<typeof kafkajs.Kafka>) {
  const requests = `${prefix}.raw.echo`;
  const replies = `${prefix}.raw.replies`;
  const serverProducer = kafka.producer({ allowAutoTopicCreation: false });
  await serverProducer.connect();
  const server = kafka.consumer({ groupId: `${prefix}-raw-server`, maxWaitTimeInMs: 100 });
  await server.connect();
  await server.subscribe({ topic: requests });
  await server.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachMessage: async ({ message }) => {
      await serverProducer.send({
        topic: message.headers!.reply_to!.toString(),
        messages: [{ value: message.value, headers: { correlation_id: message.headers!.correlation_id! } }],
      });
    },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pending = new Map<string, (value: unknown) => void>();
  const client = kafka.consumer({ groupId: `${prefix}-raw-client`, maxWaitTimeInMs: 100 });
  await client.connect();
  await client.subscribe({ topic: replies });
  await client.run({
    autoCommit: false, // a correlation-map reader needs no commits
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const id = m.headers!.correlation_id!.toString();
        pending.get(id)?.(JSON.parse(m.value!.toString()));
        pending.delete(id);
      }
    },
  });
  let seq = 0;
  const call = (payload: object) => () =>
    new Promise<unknown>((resolve, reject) => {
      const id = String(seq++);
      pending.set(id, resolve);
      producer
        .send({
          topic: requests,
          messages: [{ value: JSON.stringify(payload), headers: { correlation_id: id, reply_to: replies } }],
        })
        .catch(reject);
    });
  const close = async () => {
    await Promise.all([
      server.disconnect(),
      client.disconnect(),
      producer.disconnect(),
      serverProducer.disconnect(),
    ]);
  };
  return { call, close };
}

async function main() {
  measureBrokerCpu('kafka');
  // The raw loop gets the same socket setting as ours (TCP_NODELAY), so it measures kafkajs, not Nagle.
  const socketFactory = ({
    host,
    port,
    onConnect,
  }: {
    host: string;
    port: number;
    onConnect: () => void;
  }) => {
    const socket = net.connect({ host, port }, onConnect);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
  const kafka = new kafkajs.Kafka({
    clientId: `${prefix}-raw`,
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    socketFactory,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topics = [
    `${prefix}.raw.echo`,
    `${prefix}.raw.replies`,
    `${prefix}.nest.echo`,
    `${prefix}.nest.echo.reply`,
    `${prefix}.ours.echo`,
    ...(withPlatformatic ? [`${prefix}.plat.echo`] : []),
  ];
  // The instances' reply topics up front like the rest (one partition, the client's default). On a
  // loaded broker kafkajs can ask for a new topic's leader before its partition is hosted
  // (UNKNOWN_TOPIC_OR_PARTITION, retriable): try again, creating only what is still missing.
  const specs = [
    ...topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
    ...INSTANCES.filter((n) => n > 1).map((n) => ({
      topic: `${prefix}.shared-${n}.replies`,
      numPartitions: 1,
    })),
    ...Array.from({ length: Math.max(0, ...INSTANCES) }, (_, i) => ({
      topic: `${prefix}.own-${i}.replies`,
      numPartitions: 1,
    })),
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = new Set(await admin.listTopics());
      await admin.createTopics({ topics: specs.filter((t) => !existing.has(t.topic)), waitForLeaders: true });
      break;
    } catch (err) {
      if (attempt >= 5 || !(err as { retriable?: boolean }).retriable) throw err;
    }
  }

  const raw = await rawKafkajs(kafka);

  // Nest's built-in transport, as configured out of the box (kafkajs defaults), topics pre-created alike.
  const nestApp = await NestFactory.createMicroservice(echoModule(`${prefix}.nest.echo`), {
    transport: Transport.KAFKA,
    options: {
      client: { brokers, clientId: `${prefix}-nest`, logLevel: kafkajs.logLevel.NOTHING },
      consumer: { groupId: `${prefix}-nest` },
    },
    logger: false,
  });
  await nestApp.listen();
  const nestClient = new ClientKafka({
    client: { brokers, clientId: `${prefix}-nest-caller`, logLevel: kafkajs.logLevel.NOTHING },
    consumer: { groupId: `${prefix}-nest-caller` },
  });
  (nestClient as any).logger = silent;
  nestClient.subscribeToResponseOf(`${prefix}.nest.echo`);
  await nestClient.connect();

  const ourApp = await NestFactory.createMicroservice(echoModule(`${prefix}.ours.echo`), {
    strategy: new KafkaRpcServer({
      client: { brokers, clientId: `${prefix}-ours`, logLevel: 'nothing' },
      maxConcurrency: 256,
    }),
    logger: false,
  });
  await ourApp.listen();
  const ourOptions = { client: { brokers, clientId: `${prefix}-ours-caller`, logLevel: 'nothing' as const } };
  const ourClient = new KafkaRpcClient(ourOptions);
  await ourClient.connect();
  // The same server and client on the platformatic driver (its own request topic, group and reply topic).
  const platApp = withPlatformatic
    ? await NestFactory.createMicroservice(echoModule(`${prefix}.plat.echo`), {
        strategy: new KafkaRpcServer({
          client: { brokers, clientId: `${prefix}-plat`, logLevel: 'nothing' },
          maxConcurrency: 256,
          driver: 'platformatic',
        }),
        logger: false,
      })
    : undefined;
  await platApp?.listen();
  const platClient = withPlatformatic
    ? new KafkaRpcClient({
        client: { brokers, clientId: `${prefix}-plat-caller`, logLevel: 'nothing' },
        driver: 'platformatic',
      })
    : undefined;
  await platClient?.connect();
  if (!withPlatformatic)
    console.log(
      `(the platformatic driver needs Node >= 22.22 or >= 24.6, this is ${process.version}: its rows are left out; npm run bench runs this file on Node 24)`,
    );
  // Instances of one caller service: n of them on one shared reply topic (a topic per n, so idle
  // instances of another group read nothing of it), and up to the largest n with a reply topic each.
  const many = INSTANCES.filter((n) => n > 1);
  const shared = new Map(
    many.map((n) => {
      const replyTopic = `${prefix}.shared-${n}.replies`;
      return [n, Array.from({ length: n }, () => new KafkaRpcClient({ ...ourOptions, replyTopic }))];
    }),
  );
  const own = Array.from(
    { length: Math.max(0, ...INSTANCES) },
    (_, i) => new KafkaRpcClient({ ...ourOptions, replyTopic: `${prefix}.own-${i}.replies` }),
  );
  const instances = [...[...shared.values()].flat(), ...own];
  const roundRobin = (clients: KafkaRpcClient[], payload: object) => {
    let turn = 0;
    return () => firstValueFrom(clients[turn++ % clients.length]!.send(`${prefix}.ours.echo`, payload));
  };
  const sharedName = (n: number) => `shared reply topic, ${n} instance${n > 1 ? 's' : ''}`;
  const ownName = (n: number) => `reply topic each, ${n} instances`;

  const contenders = (payload: object): Array<[string, () => Promise<unknown>]> => [
    ['raw kafkajs', raw.call(payload)],
    ['nest built-in', () => firstValueFrom(nestClient.send(`${prefix}.nest.echo`, payload))],
    ['nestjs-broker-rpc', () => firstValueFrom(ourClient.send(`${prefix}.ours.echo`, payload))],
    ...(platClient
      ? [
          [PLATFORMATIC, () => firstValueFrom(platClient.send(`${prefix}.plat.echo`, payload))] as [
            string,
            () => Promise<unknown>,
          ],
        ]
      : []),
  ];
  const small = payloadOf(PAYLOAD_SIZES[0]);
  const instanceContenders: Array<[string, () => Promise<unknown>]> = INSTANCES.flatMap((n) => [
    [sharedName(n), n === 1 ? contenders(small)[2]![1] : roundRobin(shared.get(n)!, small)] as [
      string,
      () => Promise<unknown>,
    ],
    ...(n === 1
      ? []
      : [[ownName(n), roundRobin(own.slice(0, n), small)] as [string, () => Promise<unknown>]]),
  ]);
  const large = C1 ? [] : PAYLOAD_SIZES.slice(1);
  const perSection = withPlatformatic ? 4 : 3;
  planRuns(
    plannedRuns(perSection, CONCURRENCIES) +
      large.length * plannedRuns(perSection, LARGE_CONCURRENCIES) +
      plannedRuns(instanceContenders.length, [INSTANCE_CONCURRENCY]),
  );
  const pairs: Array<[string, string, string]> = [
    ['nestjs-broker-rpc', 'raw kafkajs', 'against the raw client'],
    ['nestjs-broker-rpc', 'nest built-in', 'against Nest'],
    ...(withPlatformatic
      ? ([
          [PLATFORMATIC, 'raw kafkajs', 'platformatic driver against the raw client'],
          [PLATFORMATIC, 'nest built-in', 'platformatic driver against Nest'],
          [PLATFORMATIC, 'nestjs-broker-rpc', 'platformatic driver against kafkajs driver'],
        ] as Array<[string, string, string]>)
      : []),
  ];
  try {
    const sections: Section[] = [];
    for (const bytes of [PAYLOAD_SIZES[0], ...large]) {
      const first = bytes === PAYLOAD_SIZES[0];
      sections.push({
        title: `payload ${formatBytes(bytes)}`,
        kind: first ? 'concurrency' : 'payload',
        payloadBytes: bytes,
        results: await compare(
          contenders(payloadOf(bytes)),
          first ? CONCURRENCIES : LARGE_CONCURRENCIES,
          BENCH_ROUNDS,
          BENCH_MS,
          { section: formatBytes(bytes), payloadBytes: bytes },
        ),
        pairs,
        ratiosAgainst: ['raw kafkajs', 'nest built-in'],
      });
    }
    if (INSTANCES.length > 0) {
      // connected only now: idle, their reply consumers would poll the broker through the sections above
      await Promise.all(instances.map((c) => c.connect()));
      const before = new Map(instances.map((c) => [c, c.replyStats]));
      const instanceResults = await compare(
        instanceContenders,
        [INSTANCE_CONCURRENCY],
        BENCH_ROUNDS,
        BENCH_MS,
        {
          section: 'instances',
          payloadBytes: PAYLOAD_SIZES[0],
        },
      );
      const readPerOwn = (clients: KafkaRpcClient[]) => {
        const stats = clients.map((c) => ({ now: c.replyStats, was: before.get(c)! }));
        const received = stats.reduce((sum, s) => sum + s.now.received - s.was.received, 0);
        const foreign = stats.reduce((sum, s) => sum + s.now.foreign - s.was.foreign, 0);
        return received / Math.max(1, received - foreign);
      };
      sections.push({
        title: `client instances, c=${INSTANCE_CONCURRENCY} in total, ${formatBytes(PAYLOAD_SIZES[0])}`,
        kind: 'instances',
        payloadBytes: PAYLOAD_SIZES[0],
        results: instanceResults,
        pairs: many.flatMap((n): Array<[string, string, string]> => [
          [sharedName(n), sharedName(1), 'shared topic against one instance'],
          [ownName(n), sharedName(1), 'a topic each against one instance'],
          [ownName(n), sharedName(n), 'a topic each against shared'],
        ]),
        ratiosAgainst: [sharedName(1)],
        grid: {
          groups: INSTANCES.map((n) => `${n} instance${n > 1 ? 's' : ''}`),
          series: [
            { name: 'shared reply topic', cells: INSTANCES.map(sharedName) },
            { name: 'reply topic each', cells: INSTANCES.map((n) => (n === 1 ? sharedName(1) : ownName(n))) },
          ],
        },
        note: `Requests go round-robin over the instances, ${INSTANCE_CONCURRENCY} in flight in total. Reply records read per reply, over the instances: ${many
          .map(
            (n) =>
              `shared, ${n} instances: ${readPerOwn(shared.get(n)!).toFixed(2)}; a topic each: ${readPerOwn(own.slice(0, n)).toFixed(2)}`,
          )
          .join(
            '; ',
          )}. Every instance on a shared reply topic reads every reply and drops those of the others: the Node µs/req column shows what that costs.`,
      });
    }

    const at = (s: Section, c: number, base: string, name = 'nestjs-broker-rpc') =>
      pairRatios(s.results, pairs).find((p) => p.concurrency === c && p.base === base && p.name === name);
    const c64 = CONCURRENCIES.includes(64) ? 64 : CONCURRENCIES.at(-1)!;
    const first = sections[0]!;
    const drivers: Array<[string, string]> = [
      ['nestjs-broker-rpc', 'kafkajs driver'],
      ...(withPlatformatic ? [[PLATFORMATIC, 'platformatic driver'] as [string, string]] : []),
    ];
    const targets: Target[] = [
      ...drivers.flatMap(([name, driver], i): Target[] => [
        {
          ...latencyTarget(
            `c=1, 100 B, ${driver}: p50 ≤ 1.2× raw kafkajs's`,
            first.results,
            1,
            name,
            'raw kafkajs',
            1.2,
          ),
          ...(i > 0 ? { info: true } : {}),
        },
        ...(C1
          ? []
          : [
              {
                ...throughputTarget(
                  `c=${c64}, 100 B, ${driver}: ours ≥ 3× Nest`,
                  at(first, c64, 'nest built-in', name),
                  3,
                ),
                ...(i > 0 ? { info: true } : {}),
              },
              {
                ...throughputTarget(
                  `c=${c64}, 100 B, ${driver}: ours against raw kafkajs`,
                  at(first, c64, 'raw kafkajs', name),
                  1,
                ),
                info: true,
              },
            ]),
      ]),
      ...sections.slice(1, 1 + large.length).map((s) => {
        const c = LARGE_CONCURRENCIES.at(-1)!;
        return throughputTarget(`c=${c}, ${s.title}: ours ≥ 0.9× raw MB/s`, at(s, c, 'raw kafkajs'), 0.9);
      }),
    ];
    await finish({
      broker: 'kafka',
      title: 'Kafka',
      sections,
      targets,
      notes: [
        `Topics have ${PARTITIONS} partitions; the raw loop and ours use TCP_NODELAY, Nest runs on kafkajs defaults.`,
      ],
    });
  } finally {
    await Promise.all([ourClient.close(), ...instances.map((c) => c.close())]);
    await ourApp.close();
    await platClient?.close();
    await platApp?.close();
    await nestClient.close();
    await nestApp.close();
    await raw.close();
    const created = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
