// Test synchronisation helpers: await what handlers did instead of sleeping.

/** Records what event handlers saw, so tests can await it. */
export class EventLog {
  private readonly waiters: Array<{ pattern: string; count: number; resolve: () => void }> = [];
  readonly seen: Array<{ pattern: string; data: unknown }> = [];

  record(pattern: string, data: unknown): void {
    this.seen.push({ pattern, data });
    for (const w of [...this.waiters]) {
      if (this.count(w.pattern) >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
  count(pattern: string): number {
    return this.seen.filter((e) => e.pattern === pattern).length;
  }
  until(pattern: string, count = 1): Promise<void> {
    if (this.count(pattern) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pattern, count, resolve }));
  }
}

/** Lets a test hold a handler open and release it. */
export class Gate {
  private opened!: () => void;
  entered!: Promise<void>;
  private markEntered!: () => void;
  private done!: Promise<void>;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((r) => (this.markEntered = r));
    this.done = new Promise((r) => (this.opened = r));
  }
  async pass(): Promise<void> {
    this.markEntered();
    await this.done;
  }
  open(): void {
    this.opened();
  }
}
