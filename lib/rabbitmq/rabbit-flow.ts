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
  private waiters: Array<() => void> = [];

  get open(): boolean {
    return !this.full && !this.blocked;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Resolves when the gate opens, or when `reset` asks waiters to look again (new channel, none). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
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
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
