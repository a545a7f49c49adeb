import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilFirstJoin } from '../../../lib/kafka/driver/first-join.js';
import type { ConsumerListener } from '../../../lib/kafka/driver/kafka-driver.js';

describe('untilFirstJoin', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves at the first assignment, which the caller’s listener hears too', async () => {
    const heard: unknown[] = [];
    const disconnect = vi.fn(async () => undefined);
    let wrapped: ConsumerListener | undefined;
    const done = untilFirstJoin(
      { assigned: (a) => heard.push(a) },
      60_000,
      async (l) => {
        wrapped = l;
      },
      disconnect,
    );
    wrapped!.assigned!([{ topic: 't', partitions: [0] }] as never);
    await done;
    expect(heard).toHaveLength(1);
    expect(disconnect).not.toHaveBeenCalled();
  });

  it('rejects after joinTimeoutMs without an assignment, and disconnects', async () => {
    vi.useFakeTimers();
    const disconnect = vi.fn(async () => undefined);
    const done = untilFirstJoin({}, 5_000, () => new Promise<void>(() => undefined), disconnect);
    const failed = expect(done).rejects.toThrow('did not join its group within 5000 ms');
    await vi.advanceTimersByTimeAsync(5_000);
    await failed;
    expect(disconnect).toHaveBeenCalledOnce();
  });

  it('rejects with the start’s own error, and disconnects', async () => {
    const disconnect = vi.fn(async () => undefined);
    await expect(
      untilFirstJoin({}, 60_000, async () => Promise.reject(new Error('refused')), disconnect),
    ).rejects.toThrow('refused');
    expect(disconnect).toHaveBeenCalledOnce();
  });
});
