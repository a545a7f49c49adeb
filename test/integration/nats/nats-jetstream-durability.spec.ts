import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, of, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder, RpcStreamRestartedError } from '../../../lib/index.js';
import {
  type JetStreamServerOptions,
  type NatsJetStreamRpcContext,
  NatsRpcClient,
  NatsRpcServer,
} from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';

// Requests that outlive their worker, on the real nats-server with JetStream: one sent while no
// worker runs is handled once one starts; one whose worker is SIGKILLed mid-handler is redelivered
// after ackWait to another worker, and the caller gets exactly one reply.

const prefix = `jsd${randomUUID().slice(0, 8)}`;
const stream = `RPC_${prefix}`;
/** Short, so the redelivery after the kill comes soon; the same on every worker (it is the consumer's). */
const jetstream: JetStreamServerOptions = {
  stream,
  consumerPrefix: prefix,
  ackWait: 2_000,
  deadLetterSubject: `${prefix}-dead.letters`,
  deadLetterStream: `DLQ_${prefix}`,
};

function workerModule(name: string, served: string[]) {
  @Controller()
  class Worker {
    @MessagePattern(`${prefix}.job`)
    job(@Payload() data: unknown, @Ctx() ctx: NatsJetStreamRpcContext) {
      served.push(name);
      return { data, servedBy: name, deliveryCount: ctx.getDeliveryCount() };
    }
    @MessagePattern(`${prefix}.job.stream`)
    stream() {
      served.push(name);
      return of(1, 2, 3);
    }
  }
  @Module({ controllers: [Worker] })
  class WorkerModule {}
  return WorkerModule;
}

describe('NATS JetStream: requests that outlive the worker', () => {
  let raw: NatsConnection;
  let client: NatsRpcClient;
  const apps: INestMicroservice[] = [];
  const children: ChildProcess[] = [];

  async function startWorker(name: string, served: string[]) {
    const app = await NestFactory.createMicroservice(workerModule(name, served), {
      strategy: new NatsRpcServer({ servers: NATS_URL, jetstream }),
      logger: false,
    });
    await app.listen();
    apps.push(app);
    return app;
  }

  /** The stuck worker in a child process, and a wait for its next IPC message of a type. */
  function forkStuckWorker() {
    const worker = fork(
      fileURLToPath(new URL('./fixtures/jetstream-stuck-worker.ts', import.meta.url)),
      [NATS_URL, `${prefix}.job`, JSON.stringify(jetstream)],
      { execArgv: ['--import', './scripts/register-ts.mjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    children.push(worker);
    const messages: Array<Record<string, unknown>> = [];
    const next = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const found = messages.find((m) => m.type === type);
        if (found) return resolve(found);
        const onMessage = (m: Record<string, unknown>) => {
          messages.push(m);
          if (m.type === type) {
            worker.off('message', onMessage);
            resolve(m);
          }
        };
        worker.on('message', onMessage);
        worker.once('exit', (code, signal) =>
          reject(new Error(`worker exited (${code ?? signal}) before "${type}"`)),
        );
      });
    return { worker, next };
  }

  beforeAll(async () => {
    raw = await connect({ servers: NATS_URL });
    client = new NatsRpcClient({ servers: NATS_URL, jetstream: { stream } });
    await client.connect();
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    await client?.close();
    const jsm = await jetstreamManager(raw);
    for (const name of [stream, jetstream.deadLetterStream as string])
      await jsm.streams.delete(name).catch(() => undefined);
    await raw?.close();
  });

  it('handles a request sent while no worker runs once a worker starts, and the waiting caller gets the reply', async () => {
    const served: string[] = [];
    // A first worker creates the stream and its consumer, then stops: from here no worker runs.
    await (await startWorker('first', served)).close();
    apps.splice(0);
    const reply = firstValueFrom(
      client.send(`${prefix}.job`, new RpcRecordBuilder({ job: 1 }).setTimeout(0).build()),
    );
    await startWorker('later', served);
    await expect(reply).resolves.toEqual({ data: { job: 1 }, servedBy: 'later', deliveryCount: 1 });
    expect(served).toEqual(['later']);
  });

  it('redelivers the request of a worker SIGKILLed mid-handler to another worker; the caller gets exactly one reply', async () => {
    const { worker, next } = forkStuckWorker();
    await next('ready');

    const dropped = client.counters.repliesDropped;
    const replies = firstValueFrom(
      client.send(`${prefix}.job`, new RpcRecordBuilder({ job: 7 }).setTimeout(0).build()).pipe(toArray()),
    );
    await expect(next('started')).resolves.toMatchObject({ data: { job: 7 }, deliveryCount: 1 });

    // The second worker joins the same durable consumer while the first holds the request unacked.
    const served: string[] = [];
    await startWorker('second', served);
    worker.kill('SIGKILL');
    await once(worker, 'exit');

    await expect(replies).resolves.toEqual([{ data: { job: 7 }, servedBy: 'second', deliveryCount: 2 }]);
    expect(served).toEqual(['second']);
    expect(client.counters.repliesDropped).toBe(dropped);
  }, 30_000);

  it('fails a stream whose worker was SIGKILLed after its first value, rather than mixing in the redelivered attempt', async () => {
    const { worker, next } = forkStuckWorker();
    await next('ready');
    const values: number[] = [];
    let firstValue!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstValue = resolve));
    const done = new Promise<unknown>((resolve) =>
      client
        .send<number>(`${prefix}.job.stream`, new RpcRecordBuilder({ job: 8 }).setTimeout(0).build())
        .subscribe({
          next: (v) => {
            values.push(v);
            firstValue();
          },
          error: resolve,
          complete: () => resolve('completed'),
        }),
    );
    await gotFirst;
    const served: string[] = [];
    await startWorker('second', served);
    worker.kill('SIGKILL');
    await once(worker, 'exit');
    expect(await done).toBeInstanceOf(RpcStreamRestartedError);
    expect(values).toEqual([1]);
    expect(served).toEqual(['second']);
  }, 30_000);
});
