import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { afterAtLeast } from '../../../lib/core/clock.js';

describe('afterAtLeast', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('runs once the delay has passed on the monotonic clock, re-arming when the timer runs early', () => {
    // The timer runs after 100 ms, but the clock shows 98 ms: as when Node starts a timer from the
    // event loop's cached time.
    const now = vi.spyOn(performance, 'now').mockReturnValueOnce(1_000).mockReturnValueOnce(1_098);
    const fn = vi.fn();
    afterAtLeast(100, fn);
    vi.advanceTimersByTime(100);
    expect(fn).not.toHaveBeenCalled();
    now.mockReturnValueOnce(1_100);
    vi.advanceTimersByTime(2);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not run once cancelled, also after a re-arm', () => {
    vi.spyOn(performance, 'now').mockReturnValueOnce(0).mockReturnValueOnce(99);
    const fn = vi.fn();
    const cancel = afterAtLeast(100, fn);
    vi.advanceTimersByTime(100);
    cancel();
    vi.advanceTimersByTime(1_000);
    expect(fn).not.toHaveBeenCalled();
  });
});
