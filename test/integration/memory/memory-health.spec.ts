// The terminus health indicator over the in-memory transport, through terminus's HealthCheckService.
import { type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryRpcClient, MemoryRpcServer } from '../../../lib/testing/index.js';
import { healthConformance, type Health, pingModule, startHealth } from '../support/health.js';
import { Gate } from '../support/sync.js';

healthConformance('in-memory', () => {
  const broker = new MemoryBroker();
  return {
    prefix: 'mem',
    server: () => new MemoryRpcServer({ broker }),
    client: () => new MemoryRpcClient({ broker }),
    // no broker process to be down: a client whose broker has no server plays it
    unreachableClient: () => new MemoryRpcClient({ broker: new MemoryBroker() }),
    brokerProcess: false,
    upTimeout: 5_000,
  };
});

describe('in-memory: health indicator states and options', () => {
  const gate = new Gate();
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    gate.open();
    gate.reset();
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function setup() {
    const broker = new MemoryBroker();
    const health: Health = await startHealth();
    open.push(health);
    const server = new MemoryRpcServer({ broker });
    const app: INestMicroservice = await NestFactory.createMicroservice(pingModule('m', gate), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    open.push(app);
    const client = new MemoryRpcClient({ broker });
    open.push(client);
    return { broker, health, server, app, client };
  }

  it('connects a client that has not connected yet, and reports its status without a ping', async () => {
    const { health, client } = await setup();
    const result = await health.check('rpc', client);
    expect(result.details.rpc).toEqual({ status: 'up', connection: 'connected' });
  });

  it('is down once the server is gone: no responders for the ping, the server disconnected', async () => {
    const { health, client, server, app } = await setup();
    await app.close();
    const viaClient = await health.check('rpc', client, { ping: 'm.ping' });
    expect(viaClient.details.rpc).toMatchObject({ status: 'down', code: 'RPC_NO_RESPONDERS' });
    const ofServer = await health.check('worker', server);
    expect(ofServer.details.worker).toMatchObject({ status: 'down', connection: 'disconnected' });
  });

  it('is down for a closed client, and for a server that never listened', async () => {
    const { health, client } = await setup();
    await client.connect();
    await client.close();
    expect((await health.check('rpc', client, { timeout: 200 })).details.rpc).toMatchObject({
      status: 'down',
      connection: 'disconnected',
    });
    const idle = new MemoryRpcServer({ broker: new MemoryBroker() });
    expect((await health.check('idle', idle)).details.idle).toMatchObject({
      status: 'down',
      connection: 'idle',
    });
  });

  it('is down with RPC_TIMEOUT within the timeout when the ping handler hangs, for a server too', async () => {
    const { broker, health, server } = await setup();
    const result = await health.check('worker', server, {
      ping: 'm.hang',
      timeout: 200,
      client: () => new MemoryRpcClient({ broker }),
    });
    expect(result.details.worker).toMatchObject({
      status: 'down',
      code: 'RPC_TIMEOUT',
      connection: 'connected',
    });
  });

  it('is down with RPC_REMOTE when the ping handler throws, with URL credentials masked', async () => {
    const { health, client } = await setup();
    const result = await health.check('rpc', client, { ping: 'm.fail' });
    expect(result.details.rpc).toMatchObject({ status: 'down', code: 'RPC_REMOTE' });
    expect(result.details.rpc.message).toContain('amqp://***@db:5672');
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('rejects options that cannot work with a clear error', async () => {
    const { health, client, server } = await setup();
    const i = health.indicator;
    await expect(i.isHealthy('w', server, { ping: 'm.ping' })).rejects.toThrow(TypeError);
    await expect(i.isHealthy('c', client, { client: () => client })).rejects.toThrow(TypeError);
    await expect(i.isHealthy('c', client, { timeout: -1 })).rejects.toThrow(RangeError);
    await expect(i.isHealthy('c', client, { timeout: 0 })).rejects.toThrow(RangeError);
  });
});
