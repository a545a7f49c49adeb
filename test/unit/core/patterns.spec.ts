import { describe, expect, it } from 'vitest';
import { RpcInvalidPatternError } from '../../../lib/core/errors.js';
import { parseHandlerKey, toDestination } from '../../../lib/core/patterns.js';

describe('patterns', () => {
  it('uses string patterns as destinations', () => {
    expect(toDestination('math.sum')).toBe('math.sum');
  });

  it('refuses object patterns without a mapper, naming the pattern', () => {
    expect(() => toDestination({ cmd: 'sum' })).toThrow(RpcInvalidPatternError);
    expect(() => toDestination({ cmd: 'sum' })).toThrow(/\{"cmd":"sum"\}/);
  });

  it('maps object patterns through the destination option', () => {
    expect(toDestination({ cmd: 'sum' }, (p) => `math.${p.cmd}`)).toBe('math.sum');
    expect(() => toDestination({ cmd: 'sum' }, () => '')).toThrow(RpcInvalidPatternError);
  });

  it('refuses empty strings and other types', () => {
    expect(() => toDestination('')).toThrow(RpcInvalidPatternError);
    expect(() => toDestination(42)).toThrow(RpcInvalidPatternError);
  });

  it("reads Nest's normalized handler keys back", () => {
    expect(parseHandlerKey('{"cmd":"sum"}')).toEqual({ cmd: 'sum' });
    expect(parseHandlerKey('math.sum')).toBe('math.sum');
    expect(parseHandlerKey('{not json}')).toBe('{not json}');
  });
});
