// The behaviour every transport must share, written once and run against each real broker: the
// server serves `sharedControllers(prefix, log, gate)`, and each broker's suite calls
// `transportConformance` with its clients. Broker-specific behaviour stays in that broker's suite.
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { expect, it, onTestFinished } from 'vitest';
import {
  RpcConnectionError,
  RpcNoRespondersError,
  RpcRecordBuilder,
  RpcRemoteError,
  RpcTimeoutError,
} from '../../../lib/index.js';
import type { RpcClient } from '../../../lib/core/rpc-client.js';
import type { EventLog, Gate } from './sync.js';

export interface ConformanceTarget {
  prefix: string;
  log: EventLog;
  gate: Gate;
  /** The suite's connected client (read when a test runs). */
  client(): RpcClient<any>;
  /** Another client of the same transport; the test closes it. */
  newClient(options: { timeout?: number }): RpcClient<any>;
  /**
   * 10 000 concurrent requests: each request's timeout and the test's, sized for the broker; `around`
   * runs before, and returns checks to run after (`verify`) and cleanup (`restore`, run in any case).
   */
  bulk: {
    requestTimeoutMs: number;
    testTimeoutMs: number;
    around?: () => { verify(): void; restore(): void };
  };
  /**
   * Called before a gated handler is released after its caller stopped waiting; returns a wait for
   * the late reply to have reached the client and been dropped (so no later test sees it), if the
   * transport can tell.
   */
  lateReply?: () => () => Promise<void>;
}

/** Registers the shared tests in the current `describe`. */
export function transportConformance(t: ConformanceTarget): void {
  const { prefix, log, gate } = t;
  const send = <T = any>(pattern: string, data: unknown) =>
    firstValueFrom(t.client().send<T>(`${prefix}.${pattern}`, data));
  const all = <T = any>(pattern: string, data: unknown) =>
    lastValueFrom(t.client().send<T>(`${prefix}.${pattern}`, data).pipe(toArray()));
  /** Resets the gate for one test, and opens it when the test ends, also when it fails. */
  const hold = () => {
    gate.reset();
    onTestFinished(() => gate.open());
  };
  const release = async () => {
    const late = t.lateReply?.();
    gate.open();
    await late?.();
  };

  it('sums synchronously, asynchronously and through an observable', async () => {
    await expect(send('sum', [1, 2, 3, 4, 5])).resolves.toBe(15);
    await expect(send('sum.async', [1, 2, 3, 4])).resolves.toBe(10);
    await expect(send('sum.observable', [5, 5])).resolves.toBe(10);
  });

  it('streams every emitted value and completes, also for a slow or empty stream', async () => {
    await expect(all('stream', [1, 2, 3])).resolves.toEqual([1, 2, 3]);
    await expect(all('stream.slow', 4)).resolves.toEqual([0, 1, 2, 3]);
    await expect(all('stream.empty', 0)).resolves.toEqual([]);
  });

  it('keeps payload types: strings, bytes, objects, null', async () => {
    await expect(send('echo', '42')).resolves.toBe('42');
    await expect(send('echo', { a: [1, { b: null }] })).resolves.toEqual({ a: [1, { b: null }] });
    await expect(send('echo', null)).resolves.toBeNull();
    const reversed = await send<Buffer>('bytes', Buffer.from([1, 2, 255]));
    expect(Buffer.isBuffer(reversed)).toBe(true);
    expect([...reversed]).toEqual([255, 2, 1]);
  });

  it('answers concurrent requests, each with its own result', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send('sum', [i, i])));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
  });

  it(
    'matches 10 000 concurrent requests to their own payloads',
    async () => {
      const extra = t.bulk.around?.();
      try {
        const results = await Promise.all(
          Array.from({ length: 10_000 }, (_, i) =>
            send('echo', new RpcRecordBuilder({ i }).setTimeout(t.bulk.requestTimeoutMs).build()),
          ),
        );
        expect(results.every((r, i) => (r as { i: number }).i === i)).toBe(true);
        expect(t.client().pendingCount).toBe(0);
        extra?.verify();
      } finally {
        extra?.restore();
      }
    },
    t.bulk.testTimeoutMs,
  );

  it('delivers an RpcException payload as RpcRemoteError.error, and hides other exceptions', async () => {
    const err = await send('rpc-exception', {}).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('exception');
    expect(err.error).toEqual({ code: 'E_LIMIT', message: 'limit reached' });
    expect(err.message).toBe('limit reached');
    const crash = await send('crash', {}).catch((e) => e);
    expect(crash).toBeInstanceOf(RpcRemoteError);
    expect(crash.kind).toBe('internal');
    expect(JSON.stringify(crash.error)).not.toContain('secret');
  });

  it('delivers stream values before a stream error', async () => {
    const seen: number[] = [];
    const err = await new Promise<unknown>((resolve) =>
      t
        .client()
        .send<number>(`${prefix}.stream.error`, {})
        .subscribe({ next: (v) => seen.push(v), error: resolve }),
    );
    expect(seen).toEqual([1, 2]);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect((err as RpcRemoteError).error).toEqual({ status: 'error', message: 'third value failed' });
  });

  it('rejects a bad DTO through ValidationPipe with a typed remote error', async () => {
    await expect(send('order', { sku: 'A1', quantity: 2 })).resolves.toBe('2 x A1');
    const err = await send('order', { sku: 7, quantity: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.error).toEqual({ code: 'E_VALIDATION', fields: ['sku', 'quantity'] });
  });

  it('passes request headers and context to the handler, and returns reply headers on request', async () => {
    const record = new RpcRecordBuilder({}).setHeaders({ 'x-tenant': 'a' }).withReplyHeaders().build();
    const reply = await send('context', record);
    expect(reply.data).toEqual({
      tenant: 'a',
      pattern: `${prefix}.context`,
      destination: `${prefix}.context`,
      hasCorrelationId: true,
      hasReplyTo: true,
    });
    expect(reply.headers['x-served-by']).toBe('shared');
    await expect(send('context', {})).resolves.toMatchObject({ pattern: `${prefix}.context` });
  });

  it('fans an event out to every handler of its pattern', async () => {
    await lastValueFrom(t.client().emit(`${prefix}.notify`, { n: 1 }), { defaultValue: undefined });
    await Promise.all([log.until('notify.a'), log.until('notify.b')]);
    expect(log.seen).toEqual(
      expect.arrayContaining([
        { pattern: 'notify.a', data: { n: 1 } },
        { pattern: 'notify.b', data: { n: 1 } },
      ]),
    );
  });

  it('publishes the result elsewhere when an emitted request names replyTo', async () => {
    const record = new RpcRecordBuilder([2, 3]).setReplyTo(`${prefix}.sum.result`).build();
    await lastValueFrom(t.client().emit(`${prefix}.sum.later`, record), { defaultValue: undefined });
    await log.until('sum.result');
    expect(log.seen.find((e) => e.pattern === 'sum.result')?.data).toBe(5);
  });

  it('fails at once with RpcNoRespondersError when nothing serves the pattern', async () => {
    const started = performance.now();
    const err = await send('nobody', {}).catch((e) => e);
    expect(err).toBeInstanceOf(RpcNoRespondersError);
    expect(err.pattern).toBe(`${prefix}.nobody`);
    expect(performance.now() - started).toBeLessThan(5_000); // against the 30 s default timeout
    expect(t.client().pendingCount).toBe(0);
  });

  it('times out with RpcTimeoutError carrying pattern, correlation id and elapsed time', async () => {
    hold();
    const err = await send('slow', new RpcRecordBuilder(1).setTimeout(100).build()).catch((e) => e);
    await release();
    expect(err).toBeInstanceOf(RpcTimeoutError);
    expect(err.pattern).toBe(`${prefix}.slow`);
    expect(err.correlationId).toEqual(expect.any(String));
    expect(err.elapsedMs).toBeGreaterThanOrEqual(100);
    expect(err.timeoutMs).toBe(100);
  });

  it('uses the client timeout option, and waits forever with timeout 0', async () => {
    const short = t.newClient({ timeout: 50 });
    try {
      await short.connect();
      hold();
      const err = await firstValueFrom(short.send(`${prefix}.slow`, 1)).catch((e) => e);
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect(err.timeoutMs).toBe(50);
      gate.open();

      hold();
      const forever = firstValueFrom(
        short.send(`${prefix}.slow`, new RpcRecordBuilder(7).setTimeout(0).build()),
      );
      await gate.entered;
      // held three times the client's 50 ms timeout: a duration under test, not a synchronisation
      await new Promise((resolve) => setTimeout(resolve, 150));
      gate.open();
      await expect(forever).resolves.toBe(7);
    } finally {
      await short.close();
    }
  });

  it('drops the pending entry when the caller unsubscribes, and ignores the late reply', async () => {
    hold();
    const sub = t.client().send(`${prefix}.slow`, 3).subscribe();
    await gate.entered;
    expect(t.client().pendingCount).toBe(1);
    sub.unsubscribe();
    expect(t.client().pendingCount).toBe(0);
    await release();
    await expect(send('sum', [1])).resolves.toBe(1);
  });

  it('fails pending requests with RpcConnectionError when the client closes', async () => {
    const other = t.newClient({});
    await other.connect();
    hold();
    const pending = firstValueFrom(other.send(`${prefix}.slow`, 1)).catch((e) => e);
    await gate.entered;
    await other.close();
    expect(await pending).toBeInstanceOf(RpcConnectionError);
    gate.open();
  });
}
