import type { TopicPartitionOffset } from './driver/kafka-driver.js';

/** Wait before committing again after a failed commit. */
export const COMMIT_RETRY_MS = 250;

/**
 * Least time from the start of one commit to the start of the next. A commit per request cost a
 * quarter of the round trip at concurrency 1 (an extra request on the consumer's connection, queued
 * behind its long-poll fetch); a commit after a quiet spell still goes out on the next turn.
 */
export const COMMIT_INTERVAL_MS = 50;

/** Offsets to commit, and what to record once the broker took them. */
export interface CommitBatch {
  offsets: TopicPartitionOffset[];
  committed(): void;
}

/**
 * When a server's offsets are committed: everything that became committable in one event-loop turn
 * goes in one commit, one commit is in flight at a time (the next waits for it), commits start at
 * least `intervalMs` apart (what became committable meanwhile waits for the interval's end), and a
 * failed commit is retried after `COMMIT_RETRY_MS`. `expedite()` when a rebalance begins skips the
 * interval; `flush()` at close commits what is left, once.
 */
export class CommitScheduler {
  private scheduled = false;
  private committing?: Promise<void>;
  private retry?: NodeJS.Timeout;
  /** Running from the start of a commit for `intervalMs`: no other commit starts meanwhile. */
  private interval?: NodeJS.Timeout;
  private closed = false;

  constructor(
    /** What to commit now; `undefined` when nothing. */
    private readonly collect: () => CommitBatch | undefined,
    private readonly commit: (offsets: TopicPartitionOffset[]) => Promise<void>,
    private readonly onRetry: (error: unknown) => void,
    private readonly intervalMs = COMMIT_INTERVAL_MS,
  ) {}

  /** Something may be committable: commit it on the next turn of the event loop, or at the interval's end. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    if (!this.interval) setImmediate(() => this.start());
  }

  /**
   * The group begins a rebalance: what is finished is committed on the next turn instead of at the
   * interval's end, so the partitions' next owners handle again as little as possible (the commit
   * still carries this member's generation, which the broker takes until the rebalance completes).
   */
  expedite(): void {
    if (this.closed) return;
    clearTimeout(this.interval);
    this.interval = undefined;
    this.scheduled = false;
    this.schedule();
  }

  private start(): void {
    this.scheduled = false;
    // One commit at a time; the one in flight schedules the next when it ends.
    if (this.committing || this.closed) return;
    const batch = this.collect();
    if (!batch) return;
    if (this.intervalMs > 0) {
      this.interval = setTimeout(() => {
        this.interval = undefined;
        if (this.scheduled && !this.closed) this.start();
      }, this.intervalMs);
    }
    this.committing = this.commitBatch(batch).then(
      () => {
        this.committing = undefined;
        // what became committable while that commit was in flight
        if (this.collect() !== undefined) this.schedule();
      },
      (err: unknown) => {
        this.committing = undefined;
        this.onRetry(err);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.schedule(), COMMIT_RETRY_MS);
      },
    );
  }

  /**
   * The last commit, at close: nothing is scheduled from now on; waits for the commit in flight,
   * then commits what is left. Rejects when that commit fails.
   */
  async flush(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.interval);
    this.interval = undefined;
    await this.committing?.catch(() => undefined);
    await this.commitNow();
  }

  private async commitNow(): Promise<void> {
    const batch = this.collect();
    if (batch) await this.commitBatch(batch);
  }

  private async commitBatch(batch: CommitBatch): Promise<void> {
    await this.commit(batch.offsets);
    batch.committed();
  }
}
