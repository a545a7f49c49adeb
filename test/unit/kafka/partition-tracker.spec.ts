import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KafkaRecord } from '../../../lib/kafka/driver/kafka-driver.js';
import {
  PartitionTracker,
  POSITION_RETRY_MS,
  type PartitionTrackerHooks,
} from '../../../lib/kafka/partition-tracker.js';

const T = 'orders';

function record(offset: number, partition = 0, topic = T): KafkaRecord {
  return { topic, partition, offset: String(offset), key: null, value: null, headers: {}, timestamp: '0' };
}
const records = (from: number, to: number, partition = 0) =>
  Array.from({ length: to - from + 1 }, (_, i) => record(from + i, partition));

/**
 * The server and consumer around a tracker: records what the tracker asks of the consumer, runs
 * each handler until the test finishes it, and counts running handlers as the server's load.
 */
class Harness implements PartitionTrackerHooks {
  readonly calls: string[] = [];
  readonly handled: string[] = [];
  readonly warnings: string[] = [];
  commitsNeeded = 0;
  pausedFullCount = 0;
  committed = new Map<number, string | undefined>();
  readCommitted: (topic: string) => Promise<Map<number, string | undefined>> = async () =>
    new Map(this.committed);
  private readonly running = new Map<string, (handled: boolean) => void>();
  readonly limit: { load: number; capacity: number };
  readonly tracker: PartitionTracker;

  constructor(maxInFlight: number, capacity = 1_000) {
    this.limit = { load: 0, capacity };
    this.tracker = new PartitionTracker(this, maxInFlight);
  }

  handle(r: KafkaRecord): Promise<boolean> {
    const id = `${r.partition}@${r.offset}`;
    this.handled.push(id);
    this.limit.load++;
    return new Promise((resolve) =>
      this.running.set(id, (handled) => {
        this.limit.load--;
        resolve(handled);
      }),
    );
  }

  /** Ends the handler of that record and lets the tracker's continuation run. */
  async finish(offset: number, partition = 0, handled = true): Promise<void> {
    const id = `${partition}@${offset}`;
    const end = this.running.get(id);
    if (!end) throw new Error(`no handler running for ${id}`);
    this.running.delete(id);
    end(handled);
    await new Promise((resolve) => setImmediate(resolve));
  }

  pause(topic: string, partition: number) {
    this.calls.push(`pause ${topic}/${partition}`);
  }
  resume(topic: string, partition: number) {
    this.calls.push(`resume ${topic}/${partition}`);
  }
  seek(topic: string, partition: number, offset: string) {
    this.calls.push(`seek ${topic}/${partition} ${offset}`);
  }
  committedOffsets(topic: string) {
    return this.readCommitted(topic);
  }
  commitNeeded() {
    this.commitsNeeded++;
  }
  pausedFull() {
    this.pausedFullCount++;
  }
  warn(text: string) {
    this.warnings.push(text);
  }

  /** The offsets the tracker would commit now. */
  pending() {
    return this.tracker.pendingCommit()?.offsets;
  }

  /** Commits what is pending, as the commit scheduler does when the broker accepts it. */
  commitPending() {
    this.tracker.pendingCommit()?.committed();
  }
}

/** Lets the tracker's asynchronous positioning (a read of committed offsets) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PartitionTracker intake', () => {
  it('starts a handler per record and commits nothing beyond an unfinished one', async () => {
    const h = new Harness(10);
    expect(h.tracker.offer(T, 0, records(0, 2))).toBe(3);
    expect(h.handled).toEqual(['0@0', '0@1', '0@2']);
    await h.finish(1);
    await h.finish(2);
    expect(h.pending()).toBeUndefined();
    await h.finish(0);
    expect(h.pending()).toEqual([{ topic: T, partition: 0, offset: '3' }]);
  });

  it('asks for a commit when the committable offset moves, not when an offset finishes behind a running one', async () => {
    const h = new Harness(10);
    h.tracker.offer(T, 0, records(0, 1));
    await h.finish(1);
    expect(h.commitsNeeded).toBe(0);
    await h.finish(0);
    expect(h.commitsNeeded).toBe(1);
  });

  it('leaves a record turned away at close uncommitted, and what follows it too', async () => {
    const h = new Harness(10);
    h.tracker.offer(T, 0, records(0, 1));
    await h.finish(0, 0, false);
    await h.finish(1);
    expect(h.pending()).toBeUndefined();
  });

  it('counts records taken before (a redelivery) as taken without handling them again', async () => {
    const h = new Harness(10);
    h.tracker.offer(T, 0, records(0, 1));
    expect(h.tracker.offer(T, 0, records(0, 2))).toBe(3);
    expect(h.handled).toEqual(['0@0', '0@1', '0@2']);
  });

  it('pauses a partition holding maxInFlight requests, and resumes it once one drains', async () => {
    const h = new Harness(2);
    expect(h.tracker.offer(T, 0, records(0, 2))).toBe(2); // the third is fetched again later
    expect(h.calls).toEqual([`pause ${T}/0`]);
    expect(h.pausedFullCount).toBe(0); // its own bound, not the server's
    await h.finish(1); // finished behind a running one: the window still holds two
    expect(h.calls).toEqual([`pause ${T}/0`]);
    await h.finish(0);
    expect(h.calls).toEqual([`pause ${T}/0`, `resume ${T}/0`]);
    expect(h.tracker.offer(T, 0, records(2, 2))).toBe(1);
  });

  it('pauses a partition while the server is full, and resumes it only once the server is half empty', async () => {
    const h = new Harness(100, 4);
    expect(h.tracker.offer(T, 0, records(0, 3))).toBe(4);
    expect(h.tracker.offer(T, 1, [record(0, 1)])).toBe(0);
    expect(h.calls).toEqual([`pause ${T}/1`]);
    expect(h.pausedFullCount).toBe(1);
    await h.finish(0);
    expect(h.calls).toEqual([`pause ${T}/1`]); // 3 of 4 held
    await h.finish(1);
    expect(h.calls).toEqual([`pause ${T}/1`, `resume ${T}/1`]);
  });
});

describe('PartitionTracker assignments', () => {
  it('drops the state of a revoked partition: it commits nothing and is not resumed', async () => {
    const h = new Harness(1);
    h.tracker.offer(T, 0, records(0, 1)); // pauses partition 0 at its bound
    h.tracker.offer(T, 1, records(0, 0, 1));
    h.tracker.assigned({ [T]: [1] });
    await h.finish(0);
    await h.finish(0, 1);
    expect(h.pending()).toEqual([{ topic: T, partition: 1, offset: '1' }]);
    expect(h.calls).toEqual([`pause ${T}/0`, `resume ${T}/1`]);
  });

  it('takes a partition given back after a revoke afresh', async () => {
    const h = new Harness(10);
    h.tracker.offer(T, 0, records(0, 0));
    h.tracker.assigned({ [T]: [] });
    h.tracker.assigned({ [T]: [0] });
    expect(h.tracker.offer(T, 0, records(0, 0))).toBe(1);
    expect(h.handled).toEqual(['0@0', '0@0']); // the new owner's redelivery is handled again
  });

  it('commits what it holds again at every join (a new generation)', async () => {
    const h = new Harness(10);
    h.tracker.offer(T, 0, records(0, 0));
    await h.finish(0);
    h.commitPending();
    expect(h.pending()).toBeUndefined();
    h.tracker.assigned({ [T]: [0] });
    expect(h.pending()).toEqual([{ topic: T, partition: 0, offset: '1' }]);
    expect(h.commitsNeeded).toBe(2);
  });

  it('keeps a partition paused at its bound paused across a join', () => {
    const h = new Harness(1);
    h.tracker.offer(T, 0, records(0, 1));
    h.tracker.assigned({ [T]: [0, 1] });
    expect(h.calls).toEqual([`pause ${T}/0`, `pause ${T}/0`, `resume ${T}/1`]);
  });
});

describe('PartitionTracker start of partitions new to the group', () => {
  it('holds a new partition paused until positioned, at the offset committed meanwhile, else at the startup end', async () => {
    const h = new Harness(10);
    h.tracker.setStartOffsets([
      { topic: T, partition: 0, offset: '100' },
      { topic: T, partition: 1, offset: '100' },
    ]);
    h.committed = new Map([[0, '40']]);
    let read!: () => void;
    const reading = new Promise<void>((resolve) => (read = resolve));
    h.readCommitted = async () => {
      await reading;
      return new Map(h.committed);
    };
    h.tracker.assigned({ [T]: [0, 1] });
    expect(h.calls).toEqual([`pause ${T}/0`, `pause ${T}/1`]);
    expect(h.tracker.offer(T, 0, records(0, 0))).toBe(0); // fetched before its start was known
    read();
    await settle();
    h.calls.splice(0, 2); // the pauses above
    const [first, second] = [h.calls.slice(0, 2), h.calls.slice(2)];
    expect(first).toEqual([`seek ${T}/0 40`, `resume ${T}/0`]);
    expect(second).toEqual([`seek ${T}/1 100`, `resume ${T}/1`]);
    expect(h.pending()).toEqual([
      { topic: T, partition: 0, offset: '40' },
      { topic: T, partition: 1, offset: '100' },
    ]);
    // the group had a committed offset for partition 0: taken over again later, the consumer starts it there
    h.tracker.assigned({ [T]: [] });
    h.calls.length = 0;
    h.tracker.assigned({ [T]: [0] });
    expect(h.calls).toEqual([`resume ${T}/0`]);
  });

  it('leaves partitions the group had committed at startup where the consumer starts them', () => {
    const h = new Harness(10);
    h.tracker.setStartOffsets([]);
    h.tracker.assigned({ [T]: [0] });
    expect(h.calls).toEqual([`resume ${T}/0`]);
    expect(h.pending()).toBeUndefined();
  });

  it('resolves startsCommitted once the start offsets are committed, not before', async () => {
    const h = new Harness(10);
    h.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
    h.tracker.assigned({ [T]: [0] });
    await settle();
    let resolved = false;
    const starts = h.tracker.startsCommitted(60_000).then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    h.commitPending();
    await starts;
    // taken over later by this instance: the group has a committed offset now, so no startup end
    h.tracker.assigned({ [T]: [] });
    h.tracker.assigned({ [T]: [0] });
    expect(h.calls.at(-1)).toBe(`resume ${T}/0`);
  });

  it('stops holding startsCommitted back for a new partition a rebalance takes away', async () => {
    const h = new Harness(10);
    h.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
    h.tracker.assigned({ [T]: [0] });
    await settle();
    const starts = h.tracker.startsCommitted(60_000);
    h.tracker.assigned({ [T]: [] });
    await starts; // within the test's timeout, not after 60 s
    expect(h.pending()).toBeUndefined(); // its start is not ours to commit
  });

  it('stops holding startsCommitted back when the start is aborted', async () => {
    const h = new Harness(10);
    h.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
    h.tracker.assigned({ [T]: [0] });
    const starts = h.tracker.startsCommitted(60_000);
    h.tracker.abortStarts();
    await starts;
  });

  describe('with fake timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('warns and resolves startsCommitted after its timeout', async () => {
      vi.useFakeTimers();
      const h = new Harness(10);
      h.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
      h.tracker.assigned({ [T]: [0] });
      const starts = h.tracker.startsCommitted(5_000);
      await vi.advanceTimersByTimeAsync(5_000);
      await starts;
      expect(h.warnings).toEqual([
        'Start offsets of 1 new partition(s) not committed within 5000 ms; serving anyway',
      ]);
    });

    it('reads the committed offsets again after a failed read, and not once stopped', async () => {
      vi.useFakeTimers();
      const h = new Harness(10);
      h.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
      let reads = 0;
      h.readCommitted = async () => {
        if (reads++ === 0) throw new Error('coordinator moving');
        return new Map();
      };
      h.tracker.assigned({ [T]: [0] });
      await vi.advanceTimersByTimeAsync(0);
      expect(h.warnings).toEqual([
        `Could not read the committed offsets of "${T}", retrying: coordinator moving`,
      ]);
      expect(h.calls).toEqual([`pause ${T}/0`]);
      await vi.advanceTimersByTimeAsync(POSITION_RETRY_MS);
      expect(h.calls).toEqual([`pause ${T}/0`, `seek ${T}/0 100`, `resume ${T}/0`]);

      const stopped = new Harness(10);
      stopped.tracker.setStartOffsets([{ topic: T, partition: 0, offset: '100' }]);
      stopped.readCommitted = async () => {
        throw new Error('coordinator moving');
      };
      stopped.tracker.assigned({ [T]: [0] });
      await vi.advanceTimersByTimeAsync(0);
      stopped.tracker.stop();
      stopped.readCommitted = async () => new Map();
      await vi.advanceTimersByTimeAsync(POSITION_RETRY_MS * 4);
      expect(stopped.calls).toEqual([`pause ${T}/0`]);
    });
  });
});

describe('PartitionTracker stop', () => {
  it('takes nothing, resumes nothing and pauses every partition of a join once stopped', async () => {
    const h = new Harness(1);
    h.tracker.offer(T, 0, records(0, 1));
    h.tracker.stop();
    expect(h.tracker.offer(T, 1, records(0, 0, 1))).toBe(0);
    await h.finish(0);
    h.tracker.assigned({ [T]: [0, 1] });
    expect(h.calls).toEqual([`pause ${T}/0`, `pause ${T}/0`, `pause ${T}/1`]);
    expect(h.pending()).toEqual([{ topic: T, partition: 0, offset: '1' }]); // what finished is still committed
  });
});
