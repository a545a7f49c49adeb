/**
 * Publishing back-pressure on one channel: closed while amqplib's channel write buffer is full
 * (`publish` returned false, until `drain`) or while the broker blocks the connection (resource alarm).
 * Publishers wait here instead of piling frames into the socket buffer.
 */
export class PublishGate {
  private full = false;
  private blocked = false;
  /** Why the broker blocks the connection, while it does. */
  blockedReason?: string;
  private waiters = new Set<() => void>();

  get open(): boolean {
    return !this.full && !this.blocked;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Resolves when the gate opens, or when `reset` asks waiters to look again (new channel, none). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** `wait`, with a `cancel` that resolves it at once and forgets the waiter. */
  cancellableWait(): { promise: Promise<void>; cancel: () => void } {
    let cancel!: () => void;
    const promise = new Promise<void>((resolve) => {
      this.waiters.add(resolve);
      cancel = () => {
        this.waiters.delete(resolve);
        resolve();
      };
    });
    return { promise, cancel };
  }

  /** `publish` returned false. */
  fill(): void {
    this.full = true;
  }

  /** The channel's write buffer drained. */
  drain(): void {
    this.full = false;
    this.release();
  }

  block(reason?: string): void {
    this.blocked = true;
    this.blockedReason = reason;
  }

  unblock(): void {
    this.blocked = false;
    this.release();
  }

  /** The channel or connection changed: a fresh one is neither full nor blocked; waiters re-check. */
  reset(): void {
    this.full = false;
    this.blocked = false;
    this.releaseAll();
  }

  private release(): void {
    if (this.open) this.releaseAll();
  }

  private releaseAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resolve of waiters) resolve();
  }
}
