import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcError, RpcStreamCapturedError } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { Gate } from '../support/sync.js';

// A core request to a subject a JetStream stream captures is answered by nats-server with the
// stream's publish ack; the client must fail it instead of handing the ack over as the reply.

const gate = new Gate();
let prefix = '';

function handlersModule() {
  @Controller()
  class Handlers {
    @MessagePattern(`${prefix}.held`)
    async held() {
      await gate.pass();
      return 'handled';
    }
    @MessagePattern(`${prefix}.ack-shaped`)
    ackShaped() {
      return { stream: 'x', seq: 1 };
    }
  }
  @Module({ controllers: [Handlers] })
  class HandlersModule {}
  return HandlersModule;
}

describe('NATS request to a subject a JetStream stream captures', () => {
  let admin: NatsConnection;
  let client: NatsRpcClient;
  const streams: string[] = [];
  const apps: INestMicroservice[] = [];

  /** Creates a stream through the JetStream API subject, as any tool would. */
  async function createStream(config: Record<string, unknown>): Promise<string> {
    const name = `CAPTURE_${randomUUID().slice(0, 8)}`;
    const reply = await admin.request(`$JS.API.STREAM.CREATE.${name}`, JSON.stringify({ name, ...config }));
    const created = reply.json<{ error?: { description: string } }>();
    if (created.error) throw new Error(`Stream ${name} not created: ${created.error.description}`);
    streams.push(name);
    return name;
  }

  async function startServer() {
    const app = await NestFactory.createMicroservice(handlersModule(), {
      strategy: new NatsRpcServer({ servers: NATS_URL }),
      logger: false,
    });
    await app.listen();
    apps.push(app);
  }

  beforeAll(async () => {
    admin = await connect({ servers: NATS_URL, name: 'stream-captured-admin' });
  });
  afterAll(async () => {
    await admin?.drain();
  });

  afterEach(async () => {
    gate.open();
    await client?.close();
    await Promise.all(apps.splice(0).map((a) => a.close()));
    for (const name of streams.splice(0)) await admin.request(`$JS.API.STREAM.DELETE.${name}`, '{}');
    gate.reset();
  });

  async function connectClient() {
    prefix = `cap${randomUUID().slice(0, 8)}`;
    client = new NatsRpcClient({ servers: NATS_URL });
    await client.connect();
  }

  it('fails with RpcStreamCapturedError when nobody but the stream takes the request', async () => {
    await connectClient();
    const stream = await createStream({ subjects: [`${prefix}.>`], storage: 'memory' });
    const error = await firstValueFrom(client.send(`${prefix}.orders`, { n: 1 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcStreamCapturedError);
    expect(RpcError.is(error, 'RPC_STREAM_CAPTURED')).toBe(true);
    expect(error).toMatchObject({ subject: `${prefix}.orders`, stream });
    expect((error as Error).message).toMatch(/JetStream/);
    expect(client.pendingCount).toBe(0);
  });

  it('fails with RpcStreamCapturedError while a server of ours also subscribes to the subject', async () => {
    await connectClient();
    await startServer();
    const stream = await createStream({ subjects: [`${prefix}.held`], storage: 'memory' });
    // The handler is held until the request failed, so the ack is the first and only reply so far.
    const error = await firstValueFrom(client.send(`${prefix}.held`, {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcStreamCapturedError);
    expect(error).toMatchObject({ subject: `${prefix}.held`, stream });
    await gate.entered; // the core subscriber got the request too
    gate.open();
  });

  it('names the refusal when the stream would not store the request', async () => {
    await connectClient();
    const stream = await createStream({
      subjects: [`${prefix}.full`],
      storage: 'memory',
      max_msgs: 1,
      discard: 'new',
    });
    await expect(firstValueFrom(client.send(`${prefix}.full`, 1))).rejects.toMatchObject({ stream });
    const error = await firstValueFrom(client.send(`${prefix}.full`, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcStreamCapturedError);
    expect(error).toMatchObject({ stream, streamError: 'maximum messages exceeded' });
  });

  it('delivers a handler reply shaped like a publish ack as data', async () => {
    await connectClient();
    await startServer();
    await expect(firstValueFrom(client.send(`${prefix}.ack-shaped`, {}))).resolves.toEqual({
      stream: 'x',
      seq: 1,
    });
  });
});
