import { monotonicNow } from './clock.js';

/** One request waiting for replies. */
export interface PendingRequest {
  readonly correlationId: string;
  readonly pattern: string;
  /** When the request started, on the monotonic clock (`monotonicNow()` from `clock.ts`). */
  readonly startedAt: number;
  /** Milliseconds to wait for each reply message; 0 waits forever. */
  readonly timeoutMs: number;
  /** Called once when the entry times out or is failed; the entry has been removed already. */
  fail(error: Error): void;
}

interface Slot<T> {
  entry: T;
  timer?: NodeJS.Timeout;
  /** Monotonic time of the last add or touch; the entry times out `timeoutMs` after it. */
  since: number;
}

/**
 * The correlation table: pending requests by correlation id, each with its own timer.
 * A reply for an id that is not here (unknown, late or duplicate) finds nothing and is dropped by the caller.
 */
export class PendingReplies<T extends PendingRequest = PendingRequest> {
  private readonly entries = new Map<string, Slot<T>>();

  constructor(private readonly onTimeout: (entry: T) => Error) {}

  get size(): number {
    return this.entries.size;
  }

  add(entry: T): void {
    // its own clock reading, not `startedAt`: a caller's start time from another clock cannot break it
    const slot: Slot<T> = { entry, since: monotonicNow() };
    if (entry.timeoutMs > 0) slot.timer = setTimeout(() => this.expire(slot), entry.timeoutMs);
    this.entries.set(entry.correlationId, slot);
  }

  // Node may run a timer a millisecond before the monotonic clock shows its delay as passed
  // (the timer starts from the loop's cached time); re-arm for the rest so a request never times out early.
  private expire(slot: Slot<T>): void {
    const { entry } = slot;
    if (this.entries.get(entry.correlationId) !== slot) return;
    const left = slot.since + entry.timeoutMs - monotonicNow();
    if (left > 0) {
      slot.timer = setTimeout(() => this.expire(slot), Math.min(Math.ceil(left), entry.timeoutMs));
      return;
    }
    this.entries.delete(entry.correlationId);
    entry.fail(this.onTimeout(entry));
  }

  get(correlationId: string): T | undefined {
    return this.entries.get(correlationId)?.entry;
  }

  /** Restarts the entry's timer: a stream waits `timeoutMs` for each next message. */
  touch(correlationId: string): void {
    const slot = this.entries.get(correlationId);
    if (!slot?.timer) return;
    slot.since = monotonicNow();
    slot.timer.refresh();
  }

  /** Removes the entry and stops its timer; returns it if it was pending. */
  settle(correlationId: string): T | undefined {
    const slot = this.entries.get(correlationId);
    if (!slot) return undefined;
    this.entries.delete(correlationId);
    if (slot.timer) clearTimeout(slot.timer);
    return slot.entry;
  }

  /** Fails one pending entry, if it is still pending. */
  fail(correlationId: string, error: Error): boolean {
    const entry = this.settle(correlationId);
    entry?.fail(error);
    return entry !== undefined;
  }

  /** Fails every pending entry (selected by `filter` when given). */
  failAll(error: (entry: T) => Error, filter?: (entry: T) => boolean): number {
    let count = 0;
    for (const [id, { entry }] of [...this.entries]) {
      if (filter && !filter(entry)) continue;
      if (this.fail(id, error(entry))) count++;
    }
    return count;
  }
}
