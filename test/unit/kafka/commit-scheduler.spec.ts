import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COMMIT_INTERVAL_MS, COMMIT_RETRY_MS, CommitScheduler } from '../../../lib/kafka/commit-scheduler.js';
import type { TopicPartitionOffset } from '../../../lib/kafka/driver/kafka-driver.js';

/**
 * Committable offsets by partition, as a tracker holds them, and a broker that records each commit;
 * `block()` holds the next commit in flight until released, `failNext()` refuses it.
 */
class Fixture {
  readonly committable = new Map<number, string>();
  readonly committed = new Map<number, string>();
  readonly commits: string[][] = [];
  readonly retries: unknown[] = [];
  private failures = 0;
  private gate?: Promise<void>;
  private open?: () => void;
  readonly scheduler = new CommitScheduler(
    () => this.collect(),
    (offsets) => this.commit(offsets),
    (err) => this.retries.push(err),
  );

  set(partition: number, offset: string): void {
    this.committable.set(partition, offset);
  }

  failNext(times = 1): void {
    this.failures = times;
  }

  block(): () => void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    return () => {
      this.gate = undefined;
      this.open!();
    };
  }

  private collect() {
    const dirty = [...this.committable].filter(([p, o]) => this.committed.get(p) !== o);
    if (dirty.length === 0) return undefined;
    return {
      offsets: dirty.map(([partition, offset]) => ({ topic: 't', partition, offset })),
      committed: () => dirty.forEach(([p, o]) => this.committed.set(p, o)),
    };
  }

  private async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.commits.push(offsets.map((o) => `${o.partition}:${o.offset}`));
    const gate = this.gate;
    if (gate) await gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('REBALANCE_IN_PROGRESS');
    }
  }
}

describe('CommitScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('commits everything that became committable in one event-loop turn in one commit', async () => {
    const f = new Fixture();
    f.set(0, '5');
    f.scheduler.schedule();
    f.set(1, '7');
    f.scheduler.schedule();
    f.set(0, '6');
    f.scheduler.schedule();
    expect(f.commits).toEqual([]); // not within the turn that asked
    await vi.runAllTimersAsync();
    expect(f.commits).toEqual([['0:6', '1:7']]);
    expect(f.committed).toEqual(
      new Map([
        [0, '6'],
        [1, '7'],
      ]),
    );
  });

  it('commits nothing when nothing moved', async () => {
    const f = new Fixture();
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    f.scheduler.schedule(); // already committed
    await vi.runAllTimersAsync();
    expect(f.commits).toEqual([['0:1']]);
  });

  it('keeps one commit in flight; what moved meanwhile goes in the next one', async () => {
    const f = new Fixture();
    const release = f.block();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    f.set(0, '2');
    f.set(1, '9');
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    expect(f.commits).toEqual([['0:1']]);
    release();
    await vi.runAllTimersAsync();
    expect(f.commits).toEqual([['0:1'], ['0:2', '1:9']]);
  });

  it('starts commits COMMIT_INTERVAL_MS apart; what became committable meanwhile goes in one at its end', async () => {
    const f = new Fixture();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toEqual([['0:1']]);
    // the first commit is done at once; the next requests' offsets wait for the interval
    f.set(0, '2');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    f.set(1, '3');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(COMMIT_INTERVAL_MS - 1);
    expect(f.commits).toEqual([['0:1']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.commits).toEqual([['0:1'], ['0:2', '1:3']]);
    expect(f.committed).toEqual(
      new Map([
        [0, '2'],
        [1, '3'],
      ]),
    );
  });

  it('commits on the next turn after a quiet interval', async () => {
    const f = new Fixture();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    f.scheduler.schedule(); // nothing moved: no commit, and no interval started
    await vi.advanceTimersByTimeAsync(0);
    f.set(0, '2');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toEqual([['0:1'], ['0:2']]);
  });

  it('expedite commits on the next turn what waits for the interval (a rebalance begins)', async () => {
    const f = new Fixture();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    f.set(0, '2');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toEqual([['0:1']]);
    f.scheduler.expedite();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toEqual([['0:1'], ['0:2']]);
    // and the interval starts again from that commit
    f.set(0, '3');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(COMMIT_INTERVAL_MS - 1);
    expect(f.commits).toEqual([['0:1'], ['0:2']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.commits).toEqual([['0:1'], ['0:2'], ['0:3']]);
  });

  it('flush commits at once what waits for the interval', async () => {
    const f = new Fixture();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    f.set(0, '2');
    f.scheduler.schedule();
    await f.scheduler.flush();
    expect(f.commits).toEqual([['0:1'], ['0:2']]);
    await vi.runAllTimersAsync();
    expect(f.commits).toHaveLength(2);
  });

  it('with an interval of 0, commits what moved on every turn', async () => {
    const f = new Fixture();
    const scheduler = new CommitScheduler(
      () => (f as any).collect(),
      (offsets) => (f as any).commit(offsets),
      () => undefined,
      0,
    );
    f.set(0, '1');
    scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    f.set(0, '2');
    scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toEqual([['0:1'], ['0:2']]);
  });

  it('retries a failed commit after COMMIT_RETRY_MS, not at once', async () => {
    const f = new Fixture();
    f.failNext();
    f.set(0, '3');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toHaveLength(1);
    expect(f.retries).toHaveLength(1);
    expect(f.committed.size).toBe(0);
    await vi.advanceTimersByTimeAsync(COMMIT_RETRY_MS - 1);
    expect(f.commits).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2); // the retry's timer, then its turn of the event loop
    expect(f.commits).toEqual([['0:3'], ['0:3']]);
    expect(f.committed.get(0)).toBe('3');
  });

  it('flush waits for the commit in flight, commits what is left, and schedules nothing after', async () => {
    const f = new Fixture();
    const release = f.block();
    f.set(0, '1');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    f.set(0, '4');
    let flushed = false;
    const flush = f.scheduler.flush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    expect(f.commits).toEqual([['0:1']]);
    release();
    await flush;
    expect(f.commits).toEqual([['0:1'], ['0:4']]);
    f.set(0, '5');
    f.scheduler.schedule();
    await vi.runAllTimersAsync();
    expect(f.commits).toHaveLength(2);
  });

  it('flush cancels a pending retry and rejects when its own commit fails', async () => {
    const f = new Fixture();
    f.failNext(2);
    f.set(0, '2');
    f.scheduler.schedule();
    await vi.advanceTimersByTimeAsync(0);
    expect(f.commits).toHaveLength(1); // failed; a retry is pending
    await expect(f.scheduler.flush()).rejects.toThrow('REBALANCE_IN_PROGRESS');
    await vi.advanceTimersByTimeAsync(COMMIT_RETRY_MS * 4);
    expect(f.commits).toHaveLength(2); // the retry never ran
  });

  it('drops a commit scheduled before flush: flush commits it once', async () => {
    const f = new Fixture();
    f.set(0, '1');
    f.scheduler.schedule();
    const flush = f.scheduler.flush();
    await vi.runAllTimersAsync();
    await flush;
    expect(f.commits).toEqual([['0:1']]);
  });
});
