import { describe, expect, it } from 'vitest';
import { checkNonNegativeInt, checkPositiveInt } from '../../../lib/core/integer-checks.js';

describe('integer option checks', () => {
  it('accept an absent value or an integer in range', () => {
    expect(() => checkPositiveInt('n', undefined)).not.toThrow();
    expect(() => checkPositiveInt('n', 1)).not.toThrow();
    expect(() => checkNonNegativeInt('n', undefined)).not.toThrow();
    expect(() => checkNonNegativeInt('n', 0)).not.toThrow();
  });
  it('throw a RangeError naming the option otherwise', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity])
      expect(() => checkPositiveInt('maxMessageSize', bad)).toThrow(
        new RangeError(`maxMessageSize must be an integer >= 1, got ${bad}`),
      );
    for (const bad of [-1, 0.5, NaN, Infinity])
      expect(() => checkNonNegativeInt('prefetch', bad)).toThrow(
        new RangeError(`prefetch must be an integer >= 0, got ${bad}`),
      );
  });
});
