import { afterEach, describe, expect, it, vi } from 'vitest';
import { settledWithin } from '../../../lib/core/broker-close.js';

describe('settledWithin', () => {
  afterEach(() => vi.useRealTimers());

  it('is true for a step that resolves or fails in time, and clears its timer', async () => {
    vi.useFakeTimers();
    await expect(settledWithin(Promise.resolve(), 1_000)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('refused')), 1_000)).resolves.toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is false once the time has passed without an answer', async () => {
    vi.useFakeTimers();
    let outcome: boolean | undefined;
    void settledWithin(new Promise(() => undefined), 1_000).then((r) => (outcome = r));
    await vi.advanceTimersByTimeAsync(999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBe(false);
  });
});
