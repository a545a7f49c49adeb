// The in-memory transport's brokers, closing and delivery timing: what the conformance suite does not cover.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RpcConnectionError,
  RpcNoRespondersError,
  RpcRecordBuilder,
  RpcTimeoutError,
} from '../../../lib/index.js';
import {
  MemoryBroker,
  MemoryRpcClient,
  MemoryRpcServer,
  type MemoryRpcServerOptions,
} from '../../../lib/testing/index.js';
import { Gate } from '../support/sync.js';

const gate = new Gate();

@Controller()
class EchoController {
  @MessagePattern('lifecycle.echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('lifecycle.slow')
  async slow(@Payload() data: unknown): Promise<unknown> {
    await gate.pass();
    return data;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

describe('in-memory transport: brokers and closing', () => {
  const apps: INestMicroservice[] = [];
  const clients: MemoryRpcClient[] = [];
  afterEach(async () => {
    gate.open();
    vi.useRealTimers();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function serve(options: MemoryRpcServerOptions = {}) {
    const server = new MemoryRpcServer(options);
    const app = await NestFactory.createMicroservice(EchoModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return { app, server };
  }
  function client(options: ConstructorParameters<typeof MemoryRpcClient>[0] = {}) {
    const made = new MemoryRpcClient(options);
    clients.push(made);
    return made;
  }
  const echo = (c: MemoryRpcClient, data: unknown = 1) => firstValueFrom(c.send('lifecycle.echo', data));

  it('keeps a passed broker apart from the default one and from other brokers', async () => {
    const own = new MemoryBroker();
    await serve({ broker: own });
    await expect(echo(client({ broker: own }), 'own')).resolves.toBe('own');
    await expect(echo(client())).rejects.toBeInstanceOf(RpcNoRespondersError);
    await expect(echo(client({ broker: new MemoryBroker() }))).rejects.toBeInstanceOf(RpcNoRespondersError);

    await serve(); // on the default broker
    await expect(echo(client(), 'default')).resolves.toBe('default');
    await expect(echo(client({ broker: MemoryBroker.default }), 'explicit')).resolves.toBe('explicit');
  });

  it('lets in-flight handlers reply when the server closes, then answers no-responders at once', async () => {
    const broker = new MemoryBroker();
    const { app } = await serve({ broker });
    const c = client({ broker });
    await c.connect();
    expect(broker.subscriptionCount).toBe(3); // two handlers and the client's inbox
    gate.reset();
    const inFlight = firstValueFrom(c.send('lifecycle.slow', 'late'));
    await gate.entered;
    const closed = app.close();
    gate.open();
    await expect(inFlight).resolves.toBe('late');
    await closed;
    expect(broker.subscriptionCount).toBe(1);
    const err = await echo(c).catch((e) => e);
    expect(err).toBeInstanceOf(RpcNoRespondersError);
    expect(c.pendingCount).toBe(0);
  });

  it('counts a reply it cannot publish once the server closed past closeTimeout', async () => {
    const broker = new MemoryBroker();
    const { app, server } = await serve({ broker, closeTimeout: 0 });
    const c = client({ broker });
    gate.reset();
    const pending = firstValueFrom(
      c.send('lifecycle.slow', new RpcRecordBuilder(1).setTimeout(0).build()),
    ).catch((e) => e);
    await gate.entered;
    await app.close();
    gate.open();
    await expect.poll(() => server.counters.replyPublishFailures).toBe(1);
    await c.close();
    expect(await pending).toBeInstanceOf(RpcConnectionError);
  });

  it('removes its inbox when the client closes, and connects again on the next call', async () => {
    const broker = new MemoryBroker();
    await serve({ broker });
    const c = client({ broker });
    expect(() => c.unwrap()).toThrow(/connect/);
    await expect(echo(c, 'first')).resolves.toBe('first');
    expect(c.unwrap()).toBe(broker);
    expect(broker.subscriptionCount).toBe(3);
    await c.close();
    expect(broker.subscriptionCount).toBe(2);
    expect(() => c.unwrap()).toThrow(/connect/);
    await expect(echo(c, 'again')).resolves.toBe('again');
  });

  it('never calls back in the caller’s stack, for a reply or a no-responders error', async () => {
    const broker = new MemoryBroker();
    await serve({ broker });
    const c = client({ broker });
    await c.connect();
    for (const pattern of ['lifecycle.echo', 'lifecycle.nobody']) {
      let inCall = true;
      const calledInCall: boolean[] = [];
      const done = new Promise<void>((resolve) =>
        c.send(pattern, 1).subscribe({
          next: () => calledInCall.push(inCall),
          error: () => (calledInCall.push(inCall), resolve()),
          complete: () => (calledInCall.push(inCall), resolve()),
        }),
      );
      inCall = false;
      await done;
      expect(calledInCall.length).toBeGreaterThan(0);
      expect(calledInCall.every((v) => v === false)).toBe(true);
    }
  });

  it('delivers while fake timers are installed, and times out when they advance', async () => {
    const broker = new MemoryBroker();
    await serve({ broker });
    const c = client({ broker, timeout: 1_000 });
    vi.useFakeTimers();
    await expect(echo(c, 'faked')).resolves.toBe('faked');
    gate.reset();
    const slow = firstValueFrom(c.send('lifecycle.slow', 1)).catch((e) => e);
    await gate.entered;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await slow).toBeInstanceOf(RpcTimeoutError);
  });
});
