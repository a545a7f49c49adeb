import { describe } from '../core/describe.js';
import type { Assignment, KafkaRecord, TopicPartitionOffset } from './driver/kafka-driver.js';
import type { CommitBatch } from './commit-scheduler.js';
import { PartitionWindow } from './partition-window.js';

/** Wait before reading the committed offsets of a topic again, after a failed read. */
export const POSITION_RETRY_MS = 250;

/** What the tracker needs from the server and its consumer. */
export interface PartitionTrackerHooks {
  /**
   * Handles a taken record; resolves `true` once it is handled (its offset may be committed), `false`
   * when it was turned away (left uncommitted for the partition's next owner). It must count in
   * `limit.load` from the moment it is called.
   */
  handle(record: KafkaRecord): Promise<boolean>;
  /** The requests the server holds over all partitions, and how many it may hold. */
  readonly limit: { readonly load: number; readonly capacity: number };
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** The next fetch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void;
  /** The group's committed next-offsets of a topic (`undefined` where it has none). */
  committedOffsets(topic: string): Promise<Map<number, string | undefined>>;
  /** There is something new to commit (`pendingCommit`). */
  commitNeeded(): void;
  /** A partition below its own bound was paused because the server as a whole was full. */
  pausedFull(): void;
  warn(text: string): void;
}

/**
 * The one owner of a server's partition state, driven by the consumer's callbacks: which partitions
 * it holds (`assigned`), which records it takes and when a partition is paused or resumed
 * (`offer`, then each handler's end), where a partition new to the group starts (`setStartOffsets`,
 * then positioned after its join), and what may be committed (`pendingCommit`).
 */
export class PartitionTracker {
  private readonly windows = new Map<string, PartitionWindow>();
  /** Partitions paused because they, or the whole server, hold as many requests as allowed. */
  private readonly paused = new Set<PartitionWindow>();
  /** Held paused until `position` has read where they start. */
  private readonly positioning = new Set<PartitionWindow>();
  /**
   * The partitions the group had never committed when the server started, with their end offsets
   * read then. An entry goes once a committed offset is seen for its partition.
   */
  private startOffsets = new Map<string, string>();
  /**
   * Partitions new to the group that this server positioned and whose start offset is not committed
   * yet. `startsCommitted()` waits for it to empty: from then on, an instance that takes one of them
   * over starts where this one did, not at its own (later) startup end offset.
   */
  private readonly uncommittedStarts = new Set<PartitionWindow>();
  private startWaiters: Array<() => void> = [];
  private readonly positionRetries = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly hooks: PartitionTrackerHooks,
    /** Requests per partition taken but not yet committable; past it the partition is paused. */
    private readonly maxInFlight: number,
  ) {}

  /** The partitions the group had never committed at startup, at the end offsets read then. */
  setStartOffsets(offsets: TopicPartitionOffset[]): void {
    this.startOffsets = new Map(offsets.map((o) => [keyOf(o.topic, o.partition), o.offset]));
  }

  /**
   * A fetched batch: takes the records not taken before and starts their handlers, until the
   * partition or the server holds as many as allowed; then pauses the partition. Returns how many
   * leading records were taken (or were taken before); the rest are fetched again.
   */
  offer(topic: string, partition: number, records: KafkaRecord[]): number {
    if (this.stopped) return 0;
    const key = keyOf(topic, partition);
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new PartitionWindow(topic, partition)));
    if (this.positioning.has(window)) return 0; // fetched before its start was known: fetched again after the seek
    const { limit } = this.hooks;
    let taken = 0;
    for (const record of records) {
      const offset = Number(record.offset);
      if (!window.isTaken(offset)) {
        if (window.size >= this.maxInFlight || limit.load >= limit.capacity) {
          if (window.size < this.maxInFlight) this.hooks.pausedFull();
          this.paused.add(window);
          this.hooks.pause(topic, partition);
          break;
        }
        window.take(offset);
        void this.run(window, record, offset);
      }
      taken++;
    }
    return taken;
  }

  /**
   * After every join: forgets partitions that went elsewhere, positions new ones, re-commits what it
   * holds. A partition the group had never committed at startup is held paused until `position` has
   * read where it starts.
   */
  assigned(assignment: Assignment): void {
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment))
      for (const p of partitions) assigned.add(keyOf(topic, p));
    for (const [key, window] of this.windows) {
      if (!assigned.has(key)) this.drop(key, window);
    }
    for (const [topic, partitions] of Object.entries(assignment)) {
      const toPosition: PartitionWindow[] = [];
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        let window = this.windows.get(key);
        if (!window && this.startOffsets.has(key)) {
          this.windows.set(key, (window = new PartitionWindow(topic, partition)));
          this.positioning.add(window);
          this.uncommittedStarts.add(window);
          toPosition.push(window);
        }
        window?.forgetCommitted(); // new generation: commit what we hold again
        if (this.stopped || (window && (this.paused.has(window) || this.positioning.has(window))))
          this.hooks.pause(topic, partition);
        else this.hooks.resume(topic, partition);
      }
      if (toPosition.length > 0) void this.position(topic, toPosition);
    }
    this.hooks.commitNeeded();
    this.settleStarts(); // partitions taken away no longer hold startsCommitted() back
  }

  /** What to commit now: every held partition whose committable offset moved since its last commit. */
  pendingCommit(): CommitBatch | undefined {
    const dirty = [...this.windows.values()].filter((w) => w.dirty);
    if (dirty.length === 0) return undefined;
    const offsets = dirty.map((w) => ({ topic: w.topic, partition: w.partition, offset: w.committable! }));
    return {
      offsets,
      committed: () => {
        dirty.forEach((w, i) => {
          w.markCommitted(offsets[i]!.offset);
          this.startOffsets.delete(keyOf(w.topic, w.partition));
          this.uncommittedStarts.delete(w);
        });
        this.settleStarts();
      },
    };
  }

  /** Resolves once every start offset this server set is committed, or after `timeoutMs` (with a warning). */
  startsCommitted(timeoutMs: number): Promise<void> {
    if (this.uncommittedStarts.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.hooks.warn(
          `Start offsets of ${this.uncommittedStarts.size} new partition(s) not committed within ${timeoutMs} ms; serving anyway`,
        );
        resolve();
      }, timeoutMs);
      this.startWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Nobody waits for start offsets to be committed any more (the server closes before it listened). */
  abortStarts(): void {
    this.uncommittedStarts.clear();
    this.settleStarts();
  }

  /** Intake stopped: nothing is taken, resumed or positioned from now on. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.positionRetries) clearTimeout(timer);
    this.positionRetries.clear();
  }

  private async run(window: PartitionWindow, record: KafkaRecord, offset: number): Promise<void> {
    const handled = await this.hooks.handle(record);
    if (handled && window.finish(offset)) this.hooks.commitNeeded();
    if (this.paused.size > 0) this.resumePaused();
  }

  /**
   * Resumes paused partitions that may take again: below their own in-flight bound, and with the
   * server at most half full (so that a freed slot does not refetch every partition for one record).
   */
  private resumePaused(): void {
    const { limit } = this.hooks;
    if (this.stopped || limit.load > limit.capacity / 2) return;
    for (const window of this.paused) {
      if (!this.isCurrent(window)) this.paused.delete(window);
      else if (window.size < this.maxInFlight) {
        this.paused.delete(window);
        this.hooks.resume(window.topic, window.partition);
      }
    }
  }

  /**
   * Starts partitions the group had not committed at startup. Another instance of the service may
   * have committed them since (it started earlier, or held them until this rebalance): its committed
   * offset means everything before it was handled, so it wins. Only where the group still has no
   * committed offset does the partition start at the end offset read at startup, which is at or
   * before any request produced after `listen()` resolved. Read after the join, when the previous
   * owner can no longer commit in the new generation.
   */
  private async position(topic: string, windows: PartitionWindow[]): Promise<void> {
    if (this.stopped) return;
    let committed: Map<number, string | undefined>;
    try {
      committed = await this.hooks.committedOffsets(topic);
    } catch (err) {
      const current = windows.filter((w) => this.isCurrent(w));
      if (this.stopped || current.length === 0) return;
      this.hooks.warn(`Could not read the committed offsets of "${topic}", retrying: ${describe(err)}`);
      const timer = setTimeout(() => {
        this.positionRetries.delete(timer);
        void this.position(topic, current);
      }, POSITION_RETRY_MS);
      this.positionRetries.add(timer);
      return;
    }
    for (const window of windows) {
      if (!this.isCurrent(window)) {
        this.uncommittedStarts.delete(window);
        continue;
      }
      const { partition } = window;
      const key = keyOf(topic, partition);
      const offset = committed.get(partition);
      if (offset !== undefined) this.startOffsets.delete(key);
      const start = offset ?? this.startOffsets.get(key);
      this.positioning.delete(window);
      if (start !== undefined) {
        this.hooks.seek(topic, partition, start);
        window.startAt(start);
      } else this.uncommittedStarts.delete(window);
      if (!this.stopped && !this.paused.has(window)) this.hooks.resume(topic, partition);
    }
    this.hooks.commitNeeded();
    this.settleStarts();
  }

  /** The partition went to another consumer: its window commits nothing more. */
  private drop(key: string, window: PartitionWindow): void {
    this.windows.delete(key);
    this.paused.delete(window);
    this.positioning.delete(window);
    this.uncommittedStarts.delete(window);
  }

  private settleStarts(): void {
    if (this.uncommittedStarts.size > 0 || this.startWaiters.length === 0) return;
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The window still stands for its partition: not revoked, not replaced. */
  private isCurrent(window: PartitionWindow): boolean {
    return this.windows.get(keyOf(window.topic, window.partition)) === window;
  }
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
