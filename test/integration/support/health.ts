// Health checks through terminus's own HealthCheckService, and the checks every transport must pass.
import { createServer } from 'node:net';
import { Controller, type INestMicroservice, Module, ServiceUnavailableException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, RpcException } from '@nestjs/microservices';
import { type HealthCheckResult, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RpcClient, RpcServer } from '../../../lib/index.js';
import { RpcHealthIndicator, type RpcHealthOptions } from '../../../lib/health/index.js';
import { Gate } from './sync.js';

export interface Health {
  indicator: RpcHealthIndicator;
  /** Runs the checks; a failed check's 503 body is returned, not thrown. */
  check(key: string, target: RpcClient | RpcServer, options?: RpcHealthOptions): Promise<HealthCheckResult>;
  close(): Promise<void>;
}

export async function startHealth(): Promise<Health> {
  const moduleRef = await Test.createTestingModule({
    imports: [TerminusModule.forRoot({ logger: false })],
    providers: [RpcHealthIndicator],
  }).compile();
  await moduleRef.init();
  const service = moduleRef.get(HealthCheckService);
  const indicator = moduleRef.get(RpcHealthIndicator);
  return {
    indicator,
    async check(key, target, options) {
      try {
        return await service.check([() => indicator.isHealthy(key, target, options)]);
      } catch (err) {
        if (err instanceof ServiceUnavailableException) return err.getResponse() as HealthCheckResult;
        throw err;
      }
    },
    close: () => moduleRef.close(),
  };
}

/** A loopback port nothing listens on: a broker that is down. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A worker answering `${prefix}.ping` and holding `${prefix}.hang` until the gate opens. */
export function pingModule(prefix: string, gate: Gate) {
  @Controller()
  class PingController {
    @MessagePattern(`${prefix}.ping`)
    ping(): string {
      return 'pong';
    }
    @MessagePattern(`${prefix}.fail`)
    fail(): never {
      throw new RpcException('cannot reach amqp://app:hunter2@db:5672');
    }
    @MessagePattern(`${prefix}.hang`)
    async hang(): Promise<string> {
      await gate.pass();
      return 'late';
    }
  }
  @Module({ controllers: [PingController] })
  class PingModule {}
  return PingModule;
}

export interface HealthTransport {
  /** Pattern prefix unique to this run (Kafka: a topic-name prefix). */
  prefix: string;
  server(): RpcServer;
  client(): RpcClient;
  /** A client pointed at `127.0.0.1:port`, where no broker listens. */
  unreachableClient(port: number): RpcClient;
  /** False for the in-memory transport: its "unreachable" client is connected, only nobody answers. */
  brokerProcess: boolean;
  /** Milliseconds for checks that must come back up (a first connect on a loaded machine). */
  upTimeout: number;
}

/** Up with a ping round trip (client and server), down within the timeout when the broker is unreachable. */
export function healthConformance(name: string, transport: () => HealthTransport): void {
  describe(`${name}: terminus health indicator`, () => {
    const gate = new Gate();
    let t: HealthTransport;
    let health: Health;
    let app: INestMicroservice;
    let server: RpcServer;
    const clients: RpcClient[] = [];
    const client = (make: () => RpcClient) => {
      const made = make();
      clients.push(made);
      return made;
    };

    beforeAll(async () => {
      t = transport();
      health = await startHealth();
      server = t.server();
      app = await NestFactory.createMicroservice(pingModule(t.prefix, gate), {
        strategy: server,
        logger: false,
      });
      await app.listen();
    });
    afterEach(async () => {
      gate.open();
      gate.reset();
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });
    afterAll(async () => {
      gate.open();
      await health?.close();
      await app?.close();
    });

    it('is up with a ping round trip through a client', async () => {
      const result = await health.check('rpc', client(t.client), {
        ping: `${t.prefix}.ping`,
        timeout: t.upTimeout,
      });
      expect(result.status).toBe('ok');
      expect(result.details.rpc).toMatchObject({ status: 'up', connection: 'connected' });
      expect(result.details.rpc.latencyMs).toBeTypeOf('number');
    });

    it('is up with a ping round trip to a server, through a client the indicator owns', async () => {
      let made: RpcClient | undefined;
      const result = await health.check('worker', server, {
        ping: `${t.prefix}.ping`,
        timeout: t.upTimeout,
        client: () => (made = t.client()),
      });
      expect(result.details.worker).toMatchObject({ status: 'up', connection: 'connected' });
      await health.indicator.close();
      await expect(lastStatus(made!)).resolves.toBe('disconnected');
    });

    it('is down within the timeout when the handler does not answer', async () => {
      const c = client(t.client);
      await c.connect();
      const result = await health.check('rpc', c, { ping: `${t.prefix}.hang`, timeout: 300 });
      expect(result.status).toBe('error');
      expect(result.details.rpc).toMatchObject({ status: 'down', code: 'RPC_TIMEOUT' });
    });

    it('is down within the timeout when the broker is unreachable', async () => {
      const port = await unusedPort();
      const c = client(() => t.unreachableClient(port));
      const result = await health.check('rpc', c, { ping: `${t.prefix}.ping`, timeout: 500 });
      expect(result.status).toBe('error');
      expect(result.details.rpc.status).toBe('down');
      expect(result.details.rpc.code).toMatch(/^RPC_/);
      expect(JSON.stringify(result.details)).not.toContain('secret'); // the RabbitMQ URL's password
      if (!t.brokerProcess) return;
      const statusOnly = await health.check('rpc', c, { timeout: 500 });
      expect(statusOnly.details.rpc.status).toBe('down');
    });
  });
}

function lastStatus(target: RpcClient): Promise<string> {
  return new Promise((resolve) => target.status.subscribe((s) => resolve(s)).unsubscribe());
}
