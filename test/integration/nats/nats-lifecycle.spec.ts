import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcError, RpcNoRespondersError, RpcRecordBuilder } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { restartBroker } from '../support/restart-broker.js';
import { slowController } from '../support/slow.controller.js';
import { Gate } from './app/math.controller.js';

function slowModule(prefix: string, gate: Gate) {
  @Module({ controllers: [slowController(prefix, gate)] })
  class SlowModule {}
  return SlowModule;
}

describe('NATS lifecycle', () => {
  const apps: INestMicroservice[] = [];
  const clients: NatsRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function setup(closeTimeout?: number) {
    const prefix = `l${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    const server = new NatsRpcServer({ servers: NATS_URL, closeTimeout });
    const app = await NestFactory.createMicroservice(slowModule(prefix, gate), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    const client = new NatsRpcClient({ servers: NATS_URL });
    clients.push(client);
    await client.connect();
    return { prefix, gate, app, server, client };
  }

  it('on close stops taking requests but lets in-flight handlers reply', async () => {
    const { prefix, gate, app, client } = await setup();
    const inFlight = firstValueFrom(client.send(`${prefix}.slow`, 21));
    await gate.entered;
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    apps.splice(apps.indexOf(app), 1);
    // Once intake stops, a new request finds nobody.
    await expect
      .poll(() => firstValueFrom(client.send(`${prefix}.double`, 1)).catch((e) => e))
      .toBeInstanceOf(RpcNoRespondersError);
    expect(closed).toBe(false);
    gate.open();
    await expect(inFlight).resolves.toBe(42);
    await closing;
  });

  it('closes after closeTimeout even when a handler never finishes', async () => {
    const { prefix, gate, app, client } = await setup(200);
    const stuck = firstValueFrom(
      client.send(`${prefix}.slow`, new RpcRecordBuilder(1).setTimeout(5_000).build()),
    ).catch((e) => e);
    await gate.entered;
    const started = performance.now();
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(5_000);
    await client.close();
    expect(RpcError.is(await stuck, 'RPC_CONNECTION')).toBe(true);
    gate.open();
  });

  it('recovers from a nats-server restart: in-flight requests settle with a typed error or a reply, new ones succeed', async () => {
    const { prefix, server, client } = await setup();
    const serverBack = firstValueFrom(server.status.pipe(filter((s) => s === 'reconnecting')));
    const clientBack = firstValueFrom(client.status.pipe(filter((s) => s === 'reconnecting')));

    const outcomes: Array<'ok' | string> = [];
    let stop = false;
    const traffic = (async () => {
      let i = 0;
      while (!stop) {
        const n = i++;
        const result = await firstValueFrom(
          client.send(`${prefix}.double`, new RpcRecordBuilder(n).setTimeout(3_000).build()),
        ).then(
          (r) => (r === n * 2 ? 'ok' : `wrong ${String(r)}`),
          (e) => (RpcError.is(e) ? e.code : `untyped ${String(e)}`),
        );
        outcomes.push(result);
      }
    })();

    await expect.poll(() => outcomes.length, { timeout: 5_000 }).toBeGreaterThan(20);
    await restartBroker('nats');
    await Promise.all([serverBack, clientBack]);
    await firstValueFrom(server.status.pipe(filter((s) => s === 'connected')));
    await firstValueFrom(client.status.pipe(filter((s) => s === 'connected')));
    const before = outcomes.length;
    await expect
      .poll(() => outcomes.slice(before).filter((o) => o === 'ok').length, { timeout: 15_000 })
      .toBeGreaterThan(20);
    stop = true;
    await traffic;

    const unexpected = outcomes.filter(
      (o) => o !== 'ok' && o !== 'RPC_CONNECTION' && o !== 'RPC_TIMEOUT' && o !== 'RPC_NO_RESPONDERS',
    );
    expect(unexpected).toEqual([]);
    expect(outcomes.at(-1)).toBe('ok');
  }, 60_000);
});
