/** Milliseconds between two lines of one rate-limited log (e.g. refusals a caller can trigger at will). */
export const DEFAULT_LOG_INTERVAL = 10_000;

/**
 * At most one log line per interval for events a caller can trigger at will, so a flood of bad
 * requests cannot flood the log; the next line logged says how many were left out meanwhile.
 */
export class LogLimiter {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly intervalMs = DEFAULT_LOG_INTERVAL,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Calls `log` with the number of lines left out since the last one, unless the interval has not passed. */
  run(log: (suppressed: number) => void): void {
    const now = this.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    log(suppressed);
  }
}
