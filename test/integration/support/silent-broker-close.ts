// `close()` when the broker goes silent (a partition, a hung node: the TCP connection stays open and
// nothing comes back), the same on every broker that can be reached through a loopback proxy: client and
// server close anyway once `brokerCloseTimeout` has passed, and leave no timer or socket behind.
// Kafka is not here: its clients connect to the addresses the broker advertises, not through a proxy.
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { expect, it, onTestFinished } from 'vitest';
import type { RpcClient } from '../../../lib/core/rpc-client.js';
import { ResourceWatch } from './resources.js';
import { startTcpProxy } from './tcp-proxy.js';

export interface SilentBrokerTarget {
  /** The broker's port on loopback: the proxy forwards to it. */
  brokerPort: number;
  /** A pattern unique to this suite run. */
  pattern: string;
  /** Starts a Nest microservice with these controllers on a server connected to `port`; resolves once it listens. */
  startServer(
    controllers: unknown[],
    port: number,
    options: Record<string, unknown>,
  ): Promise<INestMicroservice>;
  /** A client connected to `port`. */
  newClient(port: number, options: Record<string, unknown>): Promise<RpcClient<any>>;
}

/** Registers the test in the current `describe`. */
export function silentBrokerClose(t: SilentBrokerTarget): void {
  it('closes client and server when the broker goes silent, after brokerCloseTimeout, leaving nothing running', async () => {
    const watch = new ResourceWatch();
    onTestFinished(() => watch.stop());
    const proxy = await startTcpProxy(t.brokerPort);
    onTestFinished(() => proxy.kill());
    @Controller()
    class Echo {
      @MessagePattern(t.pattern)
      echo(n: number) {
        return n;
      }
    }
    const options = { brokerCloseTimeout: 300 };
    const app = await t.startServer([Echo], proxy.port, options);
    const client = await t.newClient(proxy.port, options);
    await expect(firstValueFrom(client.send(t.pattern, 7))).resolves.toBe(7);

    proxy.freeze();
    // Without the cut, amqplib waits for close-ok until its heartbeat gives up (minutes) and a NATS
    // drain waits for its flush for ever: the test's own timeout would end it.
    await Promise.all([client.close(), app.close()]);
    await proxy.kill();
    watch.stopRecording();
    await expect.poll(() => watch.leftOver(), { timeout: 10_000 }).toEqual([]);
  });
}
