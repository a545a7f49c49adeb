import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../lib/core/log-limiter.js';

describe('LogLimiter', () => {
  it('logs at most one line per interval and then says how many it left out', () => {
    let now = 0;
    const limiter = new LogLimiter(1_000, () => now);
    const lines: number[] = [];
    const log = () => limiter.run((suppressed) => lines.push(suppressed));
    log();
    log();
    now = 999;
    log();
    expect(lines).toEqual([0]);
    now = 1_000;
    log();
    now = 5_000;
    log();
    expect(lines).toEqual([0, 2, 0]);
  });
});
