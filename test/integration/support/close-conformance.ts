// What `server.close()` does to unfinished work, the same on every broker: no handler starts once
// close has begun (requests queued behind `maxConcurrency` are turned away, the broker's way), streams
// still running when `closeTimeout` ends are stopped, and nothing is left running in the process.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { finalize, firstValueFrom, interval } from 'rxjs';
import { expect, it, onTestFinished } from 'vitest';
import { RpcRecordBuilder, RpcRemoteError } from '../../../lib/index.js';
import type { EdgeTarget } from './edge-target.js';
import { activeResources, ResourceWatch, resourcesAddedSince } from './resources.js';
import { Gate } from './sync.js';

/** Registers the shared close tests in the current `describe`. */
export function closeConformance(t: EdgeTarget): void {
  it('stops a stream still running when closeTimeout ends, and leaves no timers or handles behind', async () => {
    const before = activeResources();
    const watch = new ResourceWatch();
    onTestFinished(() => watch.stop());
    const pattern = `${t.prefix}.close.ticks`;
    let tornDown = false;
    @Controller()
    class Ticks {
      @MessagePattern(pattern)
      ticks() {
        return interval(20).pipe(finalize(() => (tornDown = true)));
      }
    }
    const { app } = await t.startServer([Ticks], { closeTimeout: 300, ...t.serverOptions });
    let open = true;
    onTestFinished(() => (open ? app.close() : undefined));
    const client = await t.newClient();
    onTestFinished(() => client.close());
    const values: number[] = [];
    const ended = new Promise<unknown>((resolve) =>
      client.send<number>(pattern, new RpcRecordBuilder(0).setTimeout(20_000).build()).subscribe({
        next: (v) => values.push(v),
        error: resolve,
        complete: () => resolve('completed'),
      }),
    );
    await expect.poll(() => values.length, { timeout: 20_000 }).toBeGreaterThan(2);

    await app.close();
    open = false;
    expect(tornDown).toBe(true);
    const err = (await ended) as RpcRemoteError;
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('shutting-down');
    await client.close();
    watch.stopRecording(); // from here on the timers are the poll's own
    await expect.poll(() => watch.leftOver(), { timeout: 10_000 }).toEqual([]);
    expect(resourcesAddedSince(before)).toEqual([]);
  }, 60_000);

  it('turns away requests queued behind maxConcurrency at close: they never run on the closing server', async () => {
    const pattern = `${t.prefix}.close.queued`;
    const gate = new Gate();
    onTestFinished(() => gate.open());
    const ran: string[] = [];
    const work = (name: string) => {
      @Controller()
      class Work {
        @MessagePattern(pattern)
        async work(@Payload() n: number) {
          ran.push(`${name}${n}`);
          if (n === 0) await gate.pass();
          return `${name}${n}`;
        }
      }
      return Work;
    };
    const options = { maxConcurrency: 1, ...t.serverOptions };
    const a = await t.startServer([work('a')], options, 'queued');
    let aOpen = true;
    onTestFinished(() => (aOpen ? a.app.close() : undefined));
    const client = await t.newClient();
    onTestFinished(() => client.close());
    const calls = [0, 1, 2, 3, 4, 5].map((n) =>
      firstValueFrom(client.send<string>(pattern, new RpcRecordBuilder(n).setTimeout(60_000).build())).catch(
        (e: unknown) => e,
      ),
    );
    await gate.entered;
    // All six reached the server: one holds its only slot, five wait for it.
    await expect.poll(() => (a.server as any).limit.load, { timeout: 20_000 }).toBe(6);

    // The server's own close() turns the waiting requests away synchronously; Nest's app.close() shares it.
    const closing = a.server.close();
    const appClosing = a.app.close();
    if (t.turnedAway === 'answered') {
      // Their callers hear at once, while the running handler still holds the server open.
      for (const outcome of await Promise.all(calls.slice(1))) {
        expect(outcome).toBeInstanceOf(RpcRemoteError);
        expect((outcome as RpcRemoteError).kind).toBe('shutting-down');
      }
    }
    gate.open();
    await closing;
    await appClosing;
    aOpen = false;
    expect(await calls[0]).toBe('a0');
    expect(ran).toEqual(['a0']); // nothing started on the closing server after close() was called
    expect(a.server.counters.refusedAtClose).toBe(5);
    if (t.turnedAway === 'answered') return;

    // The next server of the service handles each of them, once.
    const b = await t.startServer([work('b')], options, 'queued');
    onTestFinished(() => b.app.close());
    expect(await Promise.all(calls.slice(1))).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect([...ran].sort()).toEqual(['a0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  }, 120_000);
}
