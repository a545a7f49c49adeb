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
  private nextToCommit?: string;
  /** What was last committed successfully in this window's lifetime and generation. */
  private committed?: string;

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
      this.nextToCommit = String(o + 1);
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.taken.length) {
      this.taken.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** The partition starts at `offset` (nothing taken yet): committing it records that start for the group. */
  startAt(offset: string): void {
    this.nextToCommit = offset;
  }

  /** The next offset to commit: everything below it is handled. */
  get committable(): string | undefined {
    return this.nextToCommit;
  }

  /** The broker took `offset` as this partition's committed offset. */
  markCommitted(offset: string): void {
    this.committed = offset;
  }

  /** A new group generation: what was committed in the previous one is committed again. */
  forgetCommitted(): void {
    this.committed = undefined;
  }

  /** Taken and not yet committable: running, or finished behind an earlier one still running. */
  get size(): number {
    return this.taken.length - this.head;
  }

  /** Something to commit that was not committed yet. */
  get dirty(): boolean {
    return this.nextToCommit !== undefined && this.nextToCommit !== this.committed;
  }
}
