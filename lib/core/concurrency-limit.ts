/**
 * Bounds how many handlers run at once; the rest wait in arrival order. `maxQueued` is how many may
 * wait: `full` tells an adapter to refuse or hold back the next one (`run` itself never refuses).
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

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

  /** Number of tasks running or waiting. */
  get load(): number {
    return this.running + this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else if (--this.running === 0) this.notifyIdle();
    }
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.load === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
