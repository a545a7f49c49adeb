import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../../lib/core/concurrency-limit.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ConcurrencyLimit', () => {
  it('runs at most max tasks at once and the rest in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) => limit.run(async () => (started.push(i), g.promise)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(limit.load).toBe(3);
    gates[1]!.resolve();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    await Promise.all(runs);
    expect(limit.load).toBe(0);
  });

  it('resolves idle() once nothing runs or waits, and frees slots after failures', async () => {
    const limit = new ConcurrencyLimit(1);
    await limit.idle();
    const gate = deferred();
    const failing = limit.run(async () => {
      await gate.promise;
      throw new Error('x');
    });
    const after = limit.run(async () => 'ok');
    let idle = false;
    const idlePromise = limit.idle().then(() => (idle = true));
    expect(idle).toBe(false);
    gate.resolve();
    await expect(failing).rejects.toThrow('x');
    await expect(after).resolves.toBe('ok');
    await idlePromise;
    expect(idle).toBe(true);
  });

  it('refuses a bound below 1', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });

  it('is full once every slot runs and maxQueued tasks wait', async () => {
    const limit = new ConcurrencyLimit(1, 2);
    expect(limit.capacity).toBe(3);
    const gate = deferred();
    const runs = [limit.run(() => gate.promise), limit.run(async () => undefined)];
    expect(limit.full).toBe(false);
    runs.push(limit.run(async () => undefined));
    expect(limit.full).toBe(true);
    gate.resolve();
    await Promise.all(runs);
    expect(limit.full).toBe(false);
    const unqueued = new ConcurrencyLimit(1, 0);
    const only = unqueued.run(() => Promise.resolve());
    expect(unqueued.full).toBe(true);
    await only;
  });

  it('refuses a maxQueued that is not an integer >= 0', () => {
    expect(() => new ConcurrencyLimit(1, -1)).toThrow(/maxQueued must be an integer >= 0/);
    expect(() => new ConcurrencyLimit(1, 1.5)).toThrow(RangeError);
  });

  it('once closed starts nothing more: waiting and later tasks get their refused fallback', async () => {
    const limit = new ConcurrencyLimit(1);
    const gate = deferred();
    const started: number[] = [];
    const first = limit.run(
      async () => {
        started.push(0);
        await gate.promise;
        return 'ran';
      },
      () => 'refused',
    );
    const queued = [1, 2].map((i) =>
      limit.run(
        async () => (started.push(i), 'ran'),
        () => 'refused',
      ),
    );
    await Promise.resolve();
    limit.close();
    await expect(Promise.all(queued)).resolves.toEqual(['refused', 'refused']);
    await expect(
      limit.run(
        async () => 'ran',
        () => 'refused',
      ),
    ).resolves.toBe('refused');
    await expect(limit.run(async () => 'ran')).rejects.toThrow(/closed/);
    expect(limit.load).toBe(1);
    let idle = false;
    const idled = limit.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    gate.resolve();
    await expect(first).resolves.toBe('ran');
    await idled;
    expect(started).toEqual([0]);
    expect(limit.load).toBe(0);
  });
});
