/**
 * The offsets taken from one partition, in order, and which of them are finished. Requests of a
 * partition run concurrently and finish in any order; only the contiguous finished prefix may be
 * committed, so nothing is committed before it was handled (at least once).
 */
export class PartitionWindow {
  private readonly taken: number[] = [];
  private head = 0;
  private readonly done = new Set<number>();
  /** Highest offset taken + 1. */
  private next = -1;
  /** The next offset to commit: everything below it is handled. */
  committable?: string;
  /** What was last committed successfully in this window's lifetime. */
  committed?: string;
  paused = false;
  /** Held paused while the server finds where this partition starts (a partition new to the group). */
  positioning = false;
  /** The partition went to another consumer; this window commits nothing more. */
  revoked = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Taken before: a redelivery after a rejoin, still running or finished. */
  isTaken(offset: number): boolean {
    return offset < this.next;
  }

  take(offset: number): void {
    this.taken.push(offset);
    this.next = offset + 1;
  }

  /** Marks an offset finished; true when the committable offset moved. */
  finish(offset: number): boolean {
    this.done.add(offset);
    let moved = false;
    while (this.head < this.taken.length && this.done.has(this.taken[this.head]!)) {
      const o = this.taken[this.head++]!;
      this.done.delete(o);
      this.committable = String(o + 1);
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.taken.length) {
      this.taken.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** Taken and not yet committable: running, or finished behind an earlier one still running. */
  get size(): number {
    return this.taken.length - this.head;
  }

  /** Something to commit that was not committed yet. */
  get dirty(): boolean {
    return !this.revoked && this.committable !== undefined && this.committable !== this.committed;
  }
}
