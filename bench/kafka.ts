// Kafka request/reply: a raw kafkajs loop, Nest's built-in Kafka transport (ServerKafka + ClientKafka)
// and ours, in one process, on one broker, at concurrency 1 and 64. A fourth row runs ours through
// three client instances sharing one reply topic: every instance reads every reply, so it shows what
// the shared reply topic costs.
//
// Run: npm run bench:kafka   (the broker from `bash scripts/brokers.sh up kafka`; BENCH_MS=5000 per
// measurement; KAFKA_BROKERS=127.0.0.1:9092). Topics and groups get a random prefix and are deleted after.
import { Controller, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import kafkajs from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { KafkaRpcClient, KafkaRpcServer } from '../lib/kafka/index.js';
import { BROKERS, compare, measureBrokerCpu, printPairs, printTable } from './harness.js';

const brokers = (process.env.KAFKA_BROKERS ?? BROKERS.KAFKA_BROKERS).split(',');
const prefix = `bench-${randomUUID().slice(0, 8)}`;
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };
const PARTITIONS = 3;
const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };

function echoModule(pattern: string): Type {
  @Controller()
  class EchoController {
    @MessagePattern(pattern)
    echo(@Payload() data: unknown) {
      return data;
    }
  }
  @Module({ controllers: [EchoController] })
  class EchoModule {}
  return EchoModule;
}

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
  const call = () =>
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
  ];
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  });

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
  // Three more instances of the same caller service: one shared reply topic, each reads all of it.
  const trio = [
    new KafkaRpcClient(ourOptions),
    new KafkaRpcClient(ourOptions),
    new KafkaRpcClient(ourOptions),
  ];
  await Promise.all(trio.map((c) => c.connect()));
  let turn = 0;

  const contenders: Array<[string, () => Promise<unknown>]> = [
    ['raw kafkajs', raw.call],
    ['nest built-in', () => firstValueFrom(nestClient.send(`${prefix}.nest.echo`, payload))],
    ['nestjs-broker-rpc', () => firstValueFrom(ourClient.send(`${prefix}.ours.echo`, payload))],
    ['ours, 3 instances', () => firstValueFrom(trio[turn++ % 3]!.send(`${prefix}.ours.echo`, payload))],
  ];
  try {
    const results = await compare(contenders);
    printTable(results, ['raw kafkajs', 'nest built-in']);
    printPairs(results, [
      ['nestjs-broker-rpc', 'raw kafkajs', 'against the raw client'],
      ['nestjs-broker-rpc', 'nest built-in', 'against Nest'],
    ]);
    const foreign = trio.map((c) => c.replyStats);
    console.log(
      `\nshared reply topic, per instance (received / not its own): ${foreign.map((s) => `${s.received}/${s.foreign}`).join(', ')}`,
    );
  } finally {
    await Promise.all([ourClient.close(), ...trio.map((c) => c.close())]);
    await ourApp.close();
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
