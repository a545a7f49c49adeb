// Request deadlines, the same on every broker: a request whose deadline has passed when it would
// start is dropped unhandled, also when it waited behind `maxConcurrency` inside the server.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { expect, it, onTestFinished } from 'vitest';
import { RpcRecordBuilder, RpcTimeoutError } from '../../../lib/index.js';
import type { EdgeTarget } from './edge-target.js';
import { Gate } from './sync.js';

/** Registers the shared deadline tests in the current `describe`. */
export function deadlineConformance(t: EdgeTarget): void {
  it('does not run requests queued behind maxConcurrency once their deadline has passed', async () => {
    const pattern = `${t.prefix}.deadline.slow`;
    const gate = new Gate();
    onTestFinished(() => gate.open());
    const ran: number[] = [];
    @Controller()
    class Slow {
      @MessagePattern(pattern)
      async slow(@Payload() n: number) {
        ran.push(n);
        await gate.pass();
        return n;
      }
    }
    const { app, server } = await t.startServer([Slow], { maxConcurrency: 1, deadlineGrace: 0 });
    onTestFinished(() => app.close());
    const client = await t.newClient();
    onTestFinished(() => client.close());

    const calls = Array.from({ length: 20 }, (_, n) =>
      firstValueFrom(
        client.send(pattern, new RpcRecordBuilder(n).setTimeout(t.shortTimeoutMs).build()),
      ).catch((e) => e),
    );
    // Every caller gave up while the first handler held the only slot.
    for (const outcome of await Promise.all(calls)) expect(outcome).toBeInstanceOf(RpcTimeoutError);
    gate.open();
    await expect
      .poll(() => ran.length + (server.counters.requestsExpired ?? 0), { timeout: 20_000 })
      .toBe(20);
    expect(ran.length).toBeLessThanOrEqual(1);
    expect(server.counters.requestsExpired).toBe(20 - ran.length);
  }, 60_000);
}
