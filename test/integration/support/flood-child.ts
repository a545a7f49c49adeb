// A process whose heap a flood test measures. Run with fork() and
// `--expose-gc --import ./scripts/register-ts.mjs`; argv: one JSON object (`FloodChildConfig`).
// As a server (NATS, Kafka) it holds every request in a handler until told to release them; as a
// RabbitMQ client it sends a flood of requests on request. The parent drives it over IPC:
// `{ id, cmd, ...args }` in, `{ id, ...result }` out.
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { RpcRecordBuilder } from '../../../lib/index.js';
import { KafkaRpcServer } from '../../../lib/kafka/index.js';
import { useKafkaTestDriver } from './kafka-test-driver.js';
import { NatsRpcServer } from '../../../lib/nats/index.js';
import { RabbitRpcClient } from '../../../lib/rabbitmq/index.js';

useKafkaTestDriver();

export type FloodChildConfig =
  | { role: 'nats-server'; url: string; pattern: string; maxConcurrency: number; maxQueued: number }
  | {
      role: 'kafka-server';
      brokers: string[];
      pattern: string;
      groupId: string;
      partitions: number;
      maxConcurrency: number;
      maxQueued: number;
      maxBytesPerPartition: number;
    }
  | { role: 'rabbit-client'; url: string };

const config = JSON.parse(process.argv[2]!) as FloodChildConfig;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('flood-child needs --expose-gc');

let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
let entered = 0;

type Command = { id: number; cmd: string; [arg: string]: any };
const commands: Record<string, (c: Command) => Promise<unknown> | unknown> = {
  /** The heap after full collections: V8's heap, plus ArrayBuffer memory (message bodies are Buffers). */
  async heap() {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return { heapUsed, arrayBuffers, total: heapUsed + arrayBuffers };
  },
  release() {
    release();
  },
};

if (config.role === 'rabbit-client') {
  const client = new RabbitRpcClient({ urls: [config.url] });
  await client.connect();
  const seen = new Map<string, Promise<void>>();
  for (const status of ['blocked', 'unblocked'] as const)
    seen.set(status, new Promise<void>((resolve) => client.on(status, () => resolve())));
  /** Resolves once the client reported `status` (since it started). */
  commands.status = ({ status }) => seen.get(status);
  commands.send = async ({ pattern }) => lastValueFrom(client.send(pattern, 1));
  /** Emits one event (the broker blocks a connection once it publishes during an alarm). */
  commands.emit = async ({ pattern }) => {
    await lastValueFrom(client.emit(pattern, 1), { defaultValue: undefined }).catch(() => undefined);
  };
  /** `n` requests of `size` bytes each (every one its own buffer), settled; resolves with their error codes. */
  commands.flood = async ({ pattern, n, size, timeout }) => {
    const codes: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        lastValueFrom(
          client.send(pattern, new RpcRecordBuilder(Buffer.alloc(size, i)).setTimeout(timeout).build()),
        ).then(
          () => (codes.ok = (codes.ok ?? 0) + 1),
          (err: { code?: string }) => (codes[err.code ?? 'other'] = (codes[err.code ?? 'other'] ?? 0) + 1),
        ),
      ),
    );
    return { codes, pending: client.pendingCount, counters: client.counters };
  };
} else {
  const { pattern } = config;
  @Controller()
  class Hold {
    @MessagePattern(pattern)
    async work(@Payload() data: Buffer) {
      entered++;
      await released;
      return data.length;
    }
  }
  @Module({ controllers: [Hold] })
  class HoldModule {}
  const strategy =
    config.role === 'nats-server'
      ? new NatsRpcServer({
          servers: config.url,
          maxConcurrency: config.maxConcurrency,
          maxQueued: config.maxQueued,
        } as ConstructorParameters<typeof NatsRpcServer>[0])
      : new KafkaRpcServer({
          client: { brokers: config.brokers, clientId: config.groupId, logLevel: 'nothing' },
          consumer: {
            groupId: config.groupId,
            sessionTimeout: 6_000,
            heartbeatInterval: 500,
            maxBytesPerPartition: config.maxBytesPerPartition,
          },
          topics: { numPartitions: config.partitions },
          maxConcurrency: config.maxConcurrency,
          maxQueued: config.maxQueued,
        } as ConstructorParameters<typeof KafkaRpcServer>[0]);
  const app: INestMicroservice = await NestFactory.createMicroservice(HoldModule, {
    strategy,
    logger: false,
  });
  await app.listen();
  // `limit` is the server's ConcurrencyLimit: running + waiting handlers, the requests it holds.
  commands.state = () => ({
    entered,
    held: (strategy as unknown as { limit: { load: number } }).limit.load,
    counters: strategy.counters,
  });
  /** A round trip on the server's connection: every message NATS delivered before it has been dispatched. */
  commands.flush = () => (strategy as NatsRpcServer).unwrap().flush();
  commands.close = () => app.close();
}

process.on('message', (message: Command) => {
  void Promise.resolve()
    .then(() => commands[message.cmd]!(message))
    .then(
      (result) => process.send!({ id: message.id, result }),
      (err: Error) => process.send!({ id: message.id, error: err?.message ?? String(err) }),
    );
});
process.send!({ id: 0, result: 'ready' });
