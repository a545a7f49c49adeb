import { monotonicNow } from './clock.js';

/** How often a throttled warning is written at most: one line per ten seconds. */
export const DEFAULT_LOG_THROTTLE_INTERVAL = 10_000;

/** Longest piece of a peer's input quoted in a log line, in characters. */
export const MAX_QUOTED_LENGTH = 120;

/**
 * One log line per interval for what a peer can trigger at will (once per message, say), so that a
 * flood cannot flood the log: the first occurrence is written at once, later ones within the interval
 * are only counted and reported with the next line. Keeps no timer, so it holds nothing open.
 */
export class LogThrottle {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly intervalMs = DEFAULT_LOG_THROTTLE_INTERVAL,
    private readonly now: () => number = monotonicNow,
  ) {}

  /** Writes `text()` (built only when written) unless a line went out less than the interval ago. */
  warn(text: () => string): void {
    const now = this.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed > 0 ? ` (and ${this.suppressed} more since the last such line)` : '';
    this.last = now;
    this.suppressed = 0;
    this.write(text() + more);
  }
}

/** A peer's string made safe to log: JSON-quoted (control characters escaped) and cut to `MAX_QUOTED_LENGTH`. */
export function quote(value: string): string {
  const cut = value.length > MAX_QUOTED_LENGTH ? `${value.slice(0, MAX_QUOTED_LENGTH)}…` : value;
  return JSON.stringify(cut);
}
