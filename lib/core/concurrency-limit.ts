/**
 * Bounds how many handlers run at once; the rest wait in arrival order. `maxQueued` is how many may
 * wait: `full` tells an adapter to refuse or hold back the next one (`run` itself never refuses for
 * that). Once closed it starts nothing more: waiting and new tasks get their `refused` fallback instead.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<(admitted: boolean) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly max: number,
    readonly maxQueued = Infinity,
  ) {
    if (!(max >= 1)) throw new RangeError(`maxConcurrency must be >= 1, got ${max}`);
    if (!(maxQueued >= 0) || (maxQueued !== Infinity && !Number.isInteger(maxQueued)))
      throw new RangeError(`maxQueued must be an integer >= 0, got ${maxQueued}`);
  }

  /** Every slot is busy and `maxQueued` tasks wait already. */
  get full(): boolean {
    return this.running >= this.max && this.waiting.length >= this.maxQueued;
  }

  /** Most tasks running or waiting at once: `max + maxQueued`. */
  get capacity(): number {
    return this.max + this.maxQueued;
  }

  /** Number of tasks running. */
  get active(): number {
    return this.running;
  }

  /** Number of tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Number of tasks running or waiting. */
  get load(): number {
    return this.running + this.waiting.length;
  }

  /** Runs `task` once a slot is free; runs `refused` instead (or rejects, without one) if the limit is closed first. */
  async run<T>(task: () => Promise<T>, refused?: () => T | Promise<T>): Promise<T> {
    if (this.closed) return this.refuse(refused);
    if (this.running >= this.max) {
      const admitted = await new Promise<boolean>((resolve) => this.waiting.push(resolve));
      if (!admitted) return this.refuse(refused);
    } else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(true);
      else if (--this.running === 0) this.notifyIdle();
    }
  }

  /** Starts no task from now on: every waiting task is refused at once, and so is every later one. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const admit of this.waiting.splice(0)) admit(false);
    if (this.running === 0) this.notifyIdle();
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.load === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async refuse<T>(refused?: () => T | Promise<T>): Promise<T> {
    if (!refused) throw new Error('The concurrency limit is closed');
    return refused();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
