import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import amqp, { type ChannelModel } from 'amqplib';
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { RpcConnectionError, RpcError, RpcNotConfirmedError, RpcRecordBuilder } from '../../../lib/index.js';
import type { RpcStatus } from '../../../lib/index.js';
import { RabbitRpcClient, type RabbitRpcContext, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { rabbitmqctl } from '../support/rabbitmqctl.js';
import { restartBroker } from '../support/restart-broker.js';
import { slowController } from '../support/slow.controller.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { Gate } from '../support/sync.js';

const created = new Set<string>();

function slowModule(prefix: string, gate: Gate, served: string[] = [], name = 'in-process') {
  @Controller()
  class Work {
    @MessagePattern(`${prefix}.work`)
    work(@Payload() data: unknown, @Ctx() ctx: RabbitRpcContext) {
      served.push(name);
      return { data, servedBy: name, redelivered: ctx.isRedelivered() };
    }
  }
  @Module({ controllers: [slowController(prefix, gate), Work] })
  class SlowModule {}
  for (const p of ['slow', 'double', 'work']) created.add(`${prefix}.${p}`);
  return SlowModule;
}

/** Records status events with timestamps, and lets a test await the next one of a kind. */
class StatusLog {
  readonly events: Array<{ status: RpcStatus; at: number }> = [];
  private waiters: Array<{ status: RpcStatus; after: number; resolve: (at: number) => void }> = [];
  constructor(target: { on(event: RpcStatus, cb: (...args: any[]) => void): void }) {
    for (const status of ['connected', 'disconnected', 'reconnecting', 'blocked', 'unblocked'] as const) {
      target.on(status, () => this.record(status));
    }
  }
  private record(status: RpcStatus) {
    const at = performance.now();
    this.events.push({ status, at });
    for (const w of [...this.waiters]) {
      if (w.status === status && at >= w.after) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(at);
      }
    }
  }
  /** Resolves with the time of the first `status` event at or after `after`. */
  next(status: RpcStatus, after = 0): Promise<number> {
    const seen = this.events.find((e) => e.status === status && e.at >= after);
    if (seen) return Promise.resolve(seen.at);
    return new Promise((resolve) => this.waiters.push({ status, after, resolve }));
  }
}

describe('RabbitMQ lifecycle', () => {
  const apps: INestMicroservice[] = [];
  const clients: RabbitRpcClient[] = [];
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of created) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  });

  async function server(
    prefix: string,
    gate: Gate,
    opts: {
      closeTimeout?: number;
      served?: string[];
      name?: string;
      noAck?: boolean;
      reconnect?: false;
      urls?: string[];
    } = {},
  ) {
    const s = new RabbitRpcServer({
      urls: opts.urls ?? [AMQP_URL],
      closeTimeout: opts.closeTimeout,
      noAck: opts.noAck,
      reconnect: opts.reconnect,
    });
    const app = await NestFactory.createMicroservice(slowModule(prefix, gate, opts.served, opts.name), {
      strategy: s,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    return { app, server: s };
  }

  async function client(options: ConstructorParameters<typeof RabbitRpcClient>[0] = {}) {
    const c = new RabbitRpcClient({ urls: [AMQP_URL], ...options });
    clients.push(c);
    await c.connect();
    return c;
  }

  it('on close stops consuming but lets in-flight handlers reply and ack', async () => {
    const prefix = `l${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    const { app } = await server(prefix, gate);
    const c = await client();
    const inFlight = firstValueFrom(c.send(`${prefix}.slow`, 21));
    await gate.entered;
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    apps.splice(apps.indexOf(app), 1);

    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    // Once intake stops, the queue has no consumer, while the in-flight request is still being handled.
    await expect.poll(async () => (await ch.checkQueue(`${prefix}.slow`)).consumerCount).toBe(0);
    expect(closed).toBe(false);
    gate.open();
    await expect(inFlight).resolves.toBe(42);
    await closing;
    // acked before the connection closed: nothing went back to the queue
    expect((await ch.checkQueue(`${prefix}.slow`)).messageCount).toBe(0);
    await conn.close();
  });

  it.each([
    { noAck: false, left: 1, what: 'requeues it (at least once, the default)' },
    { noAck: true, left: 0, what: 'loses it (noAck: at most once)' },
  ])('a worker whose connection dies mid-handler $what', async ({ noAck, left }) => {
    const prefix = `l${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    const { server: s } = await server(prefix, gate, { noAck, reconnect: false });
    const c = await client();
    // it is served either way
    await expect(firstValueFrom(c.send(`${prefix}.double`, 21))).resolves.toBe(42);
    const lost = firstValueFrom(
      c.send(`${prefix}.slow`, new RpcRecordBuilder(1).setTimeout(60_000).build()),
    ).catch((e) => e);
    await gate.entered;
    await s.unwrap<ChannelModel>().close();
    const conn = await amqp.connect(AMQP_URL);
    onTestFinished(() => conn.close());
    const ch = await conn.createChannel();
    await expect.poll(async () => (await ch.checkQueue(`${prefix}.slow`)).consumerCount).toBe(0);
    expect((await ch.checkQueue(`${prefix}.slow`)).messageCount).toBe(left);
    gate.open();
    await c.close();
    expect(await lost).toBeInstanceOf(RpcConnectionError);
  });

  it('redelivers the request of a worker killed mid-handler to another worker; the caller gets exactly one reply', async () => {
    const prefix = `k${randomUUID().slice(0, 8)}`;
    const pattern = `${prefix}.work`;
    const worker = fork(
      fileURLToPath(new URL('./fixtures/stuck-worker.ts', import.meta.url)),
      [AMQP_URL, pattern],
      {
        execArgv: ['--import', './scripts/register-ts.mjs'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    children.push(worker);
    const messages: Array<{ type: string; [k: string]: unknown }> = [];
    const next = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const found = messages.find((m) => m.type === type);
        if (found) return resolve(found);
        const onMessage = (m: any) => {
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
    await next('ready');

    const c = await client();
    const replies = firstValueFrom(c.send(pattern, { job: 7 }).pipe(toArray()));
    const started = await next('started');
    expect(started).toMatchObject({ data: { job: 7 }, redelivered: false });

    // The second worker comes up while the first holds the request unacked.
    const served: string[] = [];
    await server(prefix, new Gate(), { served, name: 'second' });
    worker.kill('SIGKILL');
    await once(worker, 'exit');

    const all = await replies;
    expect(all).toEqual([{ data: { job: 7 }, servedBy: 'second', redelivered: true }]);
    expect(served).toEqual(['second']);
    expect(c.pendingCount).toBe(0);
  }, 60_000);

  it('reports blocked/unblocked from RabbitMQ flow control and holds requests until unblocked', async () => {
    const prefix = `b${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    await server(prefix, gate);
    const c = await client();
    const status = new StatusLog(c);
    await expect(firstValueFrom(c.send(`${prefix}.double`, 1))).resolves.toBe(2);
    const during: Array<Promise<number>> = [];
    const whileBlocked: Array<Promise<number>> = [];
    try {
      // A memory high watermark of 0 raises the memory alarm: RabbitMQ blocks every publishing connection.
      await rabbitmqctl('set_vm_memory_high_watermark', '0');
      for (let i = 0; i < 20; i++) during.push(firstValueFrom(c.send(`${prefix}.double`, i)));
      await status.next('blocked');
      // sent once the client knows: they wait in the client instead of piling into the socket
      for (let i = 0; i < 20; i++) whileBlocked.push(firstValueFrom(c.send(`${prefix}.double`, 100 + i)));
      expect(c.pendingCount).toBe(40);
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.4');
    }
    await status.next('unblocked');
    await expect(Promise.all(during)).resolves.toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    await expect(Promise.all(whileBlocked)).resolves.toEqual(
      Array.from({ length: 20 }, (_, i) => 2 * (100 + i)),
    );
    expect(c.pendingCount).toBe(0);
  }, 60_000);

  it('fails an emit that waits on a blocked connection longer than the timeout with RpcConnectionError', async () => {
    const prefix = `e${randomUUID().slice(0, 8)}`;
    await server(prefix, new Gate());
    const c = await client({ timeout: 300 });
    const status = new StatusLog(c);
    const emit = (n: number, record?: RpcRecordBuilder<number>) =>
      lastValueFrom(c.emit(`${prefix}.double`, record ? record.build() : n), { defaultValue: undefined });
    let unbounded: Promise<unknown> | undefined;
    // also when the test fails by its timeout (an emit that waits for ever), which skips `finally`
    onTestFinished(() => rabbitmqctl('set_vm_memory_high_watermark', '0.4').then(() => undefined));
    try {
      await rabbitmqctl('set_vm_memory_high_watermark', '0');
      // the broker blocks a connection once it publishes during the alarm, and confirms nothing meanwhile
      const unconfirmed = await emit(1).catch((e) => e);
      expect(unconfirmed).toBeInstanceOf(RpcNotConfirmedError);
      expect(unconfirmed.reason).toBe('timeout');
      await status.next('blocked');
      const started = performance.now();
      const err = await emit(2).catch((e) => e);
      expect(err).toBeInstanceOf(RpcConnectionError);
      expect(err.message).toMatch(/within 300 ms: the broker blocks the connection/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      // a record's own timeout wins; 0 waits for the unblock
      const waited = emit(3, new RpcRecordBuilder(3).setTimeout(50)).catch((e) => e);
      unbounded = emit(4, new RpcRecordBuilder(4).setTimeout(0)).then(() => 'published');
      expect(await waited).toBeInstanceOf(RpcConnectionError);
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.4');
    }
    await status.next('unblocked');
    await expect(unbounded).resolves.toBe('published');
  }, 60_000); // each rabbitmqctl call starts an Erlang VM

  it('connects through the first URL that accepts; with none, connect() fails naming the URLs without passwords', async () => {
    const prefix = `f${randomUUID().slice(0, 8)}`;
    const gone = await startTcpProxy(Number(new URL(AMQP_URL).port));
    await gone.kill(); // a port where nothing listens any more
    const dead = `amqp://guest:secret@127.0.0.1:${gone.port}`;
    await server(prefix, new Gate(), { urls: [dead, AMQP_URL] });
    const c = await client({ urls: [dead, AMQP_URL] });
    await expect(firstValueFrom(c.send(`${prefix}.double`, 4))).resolves.toBe(8);

    const err = await new RabbitRpcClient({ urls: [dead] }).connect().catch((e) => e);
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect(err.message).toContain(`127.0.0.1:${gone.port}`);
    expect(err.message).not.toContain('secret');
  });

  it('fails over to the next URL when its node dies: pending requests fail at once, both sides serve again', async () => {
    const prefix = `f${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    const node1 = await startTcpProxy(Number(new URL(AMQP_URL).port));
    onTestFinished(() => node1.kill());
    const urls = [`amqp://guest:guest@127.0.0.1:${node1.port}`, AMQP_URL];
    const { server: s } = await server(prefix, gate, { urls });
    const c = await client({ urls });
    const serverStatus = new StatusLog(s);
    const clientStatus = new StatusLog(c);
    await expect(firstValueFrom(c.send(`${prefix}.double`, 21))).resolves.toBe(42);
    expect(node1.open).toBe(2); // both sides took the first URL

    const held = firstValueFrom(c.send(`${prefix}.slow`, 1)).catch((e) => e);
    await gate.entered;
    const killedAt = performance.now();
    await node1.kill();
    expect(await held).toBeInstanceOf(RpcConnectionError);
    await Promise.all([serverStatus.next('connected', killedAt), clientStatus.next('connected', killedAt)]);
    gate.open();
    await expect(firstValueFrom(c.send(`${prefix}.double`, 2))).resolves.toBe(4);
    expect(node1.accepted).toBe(2); // nothing came back through the dead node
  }, 60_000);

  it('survives a broker restart: pending requests fail at once, both sides reconnect and serve again', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    const { server: srv } = await server(prefix, gate);
    const c = await client();
    const clientStatus = new StatusLog(c);
    const serverStatus = new StatusLog(srv);
    await expect(firstValueFrom(c.send(`${prefix}.double`, 1))).resolves.toBe(2);

    // A request held open by the handler when the broker goes away. It waits forever (timeout 0), so
    // only the lost connection can end it: a slow restart on a loaded machine cannot turn it into a timeout.
    const heldRecord = new RpcRecordBuilder(1).setTimeout(0).build();
    const held = firstValueFrom(c.send(`${prefix}.slow`, heldRecord)).catch((e) => ({
      error: e,
      at: performance.now(),
    }));
    await gate.entered;

    // Traffic throughout: 8 loops of requests until both sides are back.
    const outcomes: Array<{ ok: boolean; error?: unknown; at: number }> = [];
    let traffic = true;
    const loops = Array.from({ length: 8 }, async (_, i) => {
      let n = i;
      while (traffic) {
        const record = new RpcRecordBuilder(n++).setTimeout(5_000).build();
        try {
          await firstValueFrom(c.send(`${prefix}.double`, record));
          outcomes.push({ ok: true, at: performance.now() });
        } catch (error) {
          outcomes.push({ ok: false, error, at: performance.now() });
          await new Promise((r) => setTimeout(r, 20)); // back off a little while it is down (not synchronisation)
        }
      }
    });

    const t0 = performance.now();
    const restarting = restartBroker('rabbitmq');
    const down = await clientStatus.next('disconnected', t0);
    const heldResult = (await held) as { error: unknown; at: number };
    expect(heldResult.error).toBeInstanceOf(RpcConnectionError);
    gate.open();

    await restarting;
    const brokerBack = performance.now();
    const [clientUp, serverUp] = await Promise.all([
      clientStatus.next('connected', down),
      serverStatus.next('connected', down),
    ]);
    traffic = false;
    await Promise.all(loops);
    console.log(
      `broker restart: ${brokerBack - t0} ms (stop+start); client reconnected ${clientUp - down} ms after its disconnect,` +
        ` ${clientUp - brokerBack} ms after the restart script returned; server ${serverUp - down} / ${serverUp - brokerBack} ms;` +
        ` held request failed ${heldResult.at - down} ms after the client saw the disconnect`,
    );
    expect(clientStatus.events.map((e) => e.status)).toContain('reconnecting');
    expect(serverStatus.events.map((e) => e.status)).toContain('disconnected');

    // Every failure was a typed, fast failure (connection lost, or no queue yet while the server redeclares).
    const failures = outcomes.filter((o) => !o.ok);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(RpcError.is(f.error, 'RPC_CONNECTION') || RpcError.is(f.error, 'RPC_NO_RESPONDERS')).toBe(true);
    }

    // After recovery: the server redeclared its (non-durable) queues and consumes; new requests succeed.
    const after = await Promise.all(
      Array.from({ length: 50 }, (_, i) => firstValueFrom(c.send(`${prefix}.double`, i))),
    );
    expect(after).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(c.pendingCount).toBe(0);
  }, 180_000);
});
