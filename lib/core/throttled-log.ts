import { monotonicNow } from './clock.js';

export const DEFAULT_LOG_INTERVAL = 10_000; // ten seconds between two lines of one throttled log

/**
 * Writes at most one line per interval; the lines it holds back meanwhile are counted in the next
 * one it writes. For what can happen once per message, so that a flood cannot flood the log. No timers.
 */
export class ThrottledLog {
  private last = -Infinity;
  private held = 0;

  constructor(
    private readonly write: (line: string) => void,
    readonly intervalMs = DEFAULT_LOG_INTERVAL,
  ) {}

  log(line: string): void {
    const now = monotonicNow();
    if (now - this.last < this.intervalMs) {
      this.held++;
      return;
    }
    this.last = now;
    const held = this.held;
    this.held = 0;
    this.write(held > 0 ? `${line} (${held} more since the last such line)` : line);
  }
}
