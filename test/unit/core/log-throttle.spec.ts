import { describe, expect, it } from 'vitest';
import { LogThrottle, MAX_QUOTED_LENGTH, quote } from '../../../lib/core/log-throttle.js';

describe('LogThrottle', () => {
  it('writes at most one line per interval and says in the next how many it left out', () => {
    let now = 0;
    const lines: string[] = [];
    const log = new LogThrottle(
      (line) => lines.push(line),
      1_000,
      () => now,
    );
    let built = 0;
    const warn = (text: string) => log.warn(() => (built++, text));
    warn('a');
    warn('b');
    now = 999;
    warn('c');
    expect(lines).toEqual(['a']);
    expect(built).toBe(1); // held-back lines are never built
    now = 1_000;
    warn('d');
    now = 5_000;
    warn('e');
    expect(lines).toEqual(['a', 'd (and 2 more since the last such line)', 'e']);
  });
});

describe('quote', () => {
  it('escapes control characters and cuts long input', () => {
    expect(quote('a\nb')).toBe('"a\\nb"');
    const long = quote('x'.repeat(MAX_QUOTED_LENGTH + 50));
    expect(long.length).toBe(MAX_QUOTED_LENGTH + 3); // quotes and the ellipsis
  });
});
