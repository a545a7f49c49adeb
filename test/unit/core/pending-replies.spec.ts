import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingReplies, type PendingRequest } from '../../../lib/core/pending-replies.js';

function request(id: string, timeoutMs: number, failures: Error[]): PendingRequest {
  return {
    correlationId: id,
    pattern: 'p',
    startedAt: performance.now(),
    timeoutMs,
    fail: (e) => failures.push(e),
  };
}

describe('PendingReplies', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fails an entry when its timeout passes, once', () => {
    const failures: Error[] = [];
    const table = new PendingReplies((e) => new Error(`timeout ${e.correlationId}`));
    table.add(request('a', 100, failures));
    vi.advanceTimersByTime(99);
    expect(failures).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(failures.map((e) => e.message)).toEqual(['timeout a']);
    expect(table.size).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(failures).toHaveLength(1);
  });

  it('never fails an entry before its timeout has passed on the monotonic clock, even when the timer runs early', () => {
    // Node starts a timer from the event loop's cached time, so it can run a millisecond before
    // performance.now() shows the delay as passed; the table must re-arm instead of timing out early.
    const failures: Error[] = [];
    const table = new PendingReplies((e) => new Error(`timeout ${e.correlationId}`));
    const now = vi.spyOn(performance, 'now').mockReturnValueOnce(1_000);
    table.add({
      correlationId: 'a',
      pattern: 'p',
      startedAt: 1_000,
      timeoutMs: 100,
      fail: (e) => failures.push(e),
    });
    now.mockReturnValueOnce(1_098); // the timer runs after 100 ms, the clock shows 98
    vi.advanceTimersByTime(100);
    expect(failures).toHaveLength(0);
    expect(table.get('a')).toBeDefined();
    now.mockReturnValueOnce(1_100);
    vi.advanceTimersByTime(2);
    expect(failures.map((e) => e.message)).toEqual(['timeout a']);
    now.mockRestore();
  });

  it('keeps its own clock: a start time from another clock (Date.now) does not change when it times out', () => {
    const failures: Error[] = [];
    const table = new PendingReplies(() => new Error('timeout'));
    table.add({
      correlationId: 'a',
      pattern: 'p',
      startedAt: Date.now(),
      timeoutMs: 100,
      fail: (e) => failures.push(e),
    });
    vi.advanceTimersByTime(100);
    expect(failures).toHaveLength(1);
  });

  it('never times out an entry with timeout 0', () => {
    const failures: Error[] = [];
    const table = new PendingReplies(() => new Error('timeout'));
    table.add(request('a', 0, failures));
    vi.advanceTimersByTime(10 * 60_000);
    expect(failures).toHaveLength(0);
    expect(table.get('a')).toBeDefined();
  });

  it('settles an entry so that its timer no longer fires and a duplicate settle finds nothing', () => {
    const failures: Error[] = [];
    const table = new PendingReplies(() => new Error('timeout'));
    table.add(request('a', 100, failures));
    expect(table.settle('a')?.correlationId).toBe('a');
    expect(table.settle('a')).toBeUndefined();
    vi.advanceTimersByTime(200);
    expect(failures).toHaveLength(0);
  });

  it('restarts the timer on touch, for streams', () => {
    const failures: Error[] = [];
    const table = new PendingReplies(() => new Error('timeout'));
    table.add(request('a', 100, failures));
    vi.advanceTimersByTime(80);
    table.touch('a');
    vi.advanceTimersByTime(80);
    expect(failures).toHaveLength(0);
    vi.advanceTimersByTime(20);
    expect(failures).toHaveLength(1);
  });

  it('fails all entries, or the selected ones', () => {
    const failures: Error[] = [];
    const table = new PendingReplies(() => new Error('timeout'));
    for (const id of ['a', 'b', 'c']) table.add(request(id, 0, failures));
    expect(
      table.failAll(
        () => new Error('x'),
        (e) => e.correlationId !== 'b',
      ),
    ).toBe(2);
    expect(table.size).toBe(1);
    expect(table.failAll(() => new Error('y'))).toBe(1);
    expect(failures.map((e) => e.message)).toEqual(['x', 'x', 'y']);
  });
});
