import { describe, expect, it } from 'vitest';
import { RpcError, RpcRemoteError, RpcTimeoutError } from '../../../lib/core/errors.js';
import { RpcRecord, RpcRecordBuilder, RpcResponse } from '../../../lib/core/record-builder.js';

describe('RpcRecordBuilder', () => {
  it('builds a record with per-call options', () => {
    const record = new RpcRecordBuilder([1, 2])
      .setTimeout(2_000)
      .setHeaders({ 'x-tenant': 'a' })
      .setHeaders({ 'x-user': 'b' })
      .setKey('k')
      .setPartition(3)
      .setReplyTo('done')
      .withReplyHeaders()
      .build();
    expect(RpcRecord.is(record)).toBe(true);
    expect(record.data).toEqual([1, 2]);
    expect(record.options).toEqual({
      timeout: 2_000,
      headers: { 'x-tenant': 'a', 'x-user': 'b' },
      key: 'k',
      partition: 3,
      replyTo: 'done',
      withReplyHeaders: true,
    });
  });

  it('refuses a negative or non-finite timeout', () => {
    expect(() => new RpcRecordBuilder(1).setTimeout(-1)).toThrow(RangeError);
    expect(() => new RpcRecordBuilder(1).setTimeout(Number.NaN)).toThrow(RangeError);
  });

  it('recognises records and responses by brand, not by class identity', () => {
    expect(RpcRecord.is({ data: 1, options: {} })).toBe(false);
    expect(RpcResponse.is(new RpcResponse(1, { headers: { a: 'b' } }))).toBe(true);
  });
});

describe('errors', () => {
  it('carry a code, a name and a brand', () => {
    const err = new RpcTimeoutError('p', 'id', 100, 101);
    expect(err.name).toBe('RpcTimeoutError');
    expect(err.code).toBe('RPC_TIMEOUT');
    expect(RpcError.is(err)).toBe(true);
    expect(RpcError.is(err, 'RPC_REMOTE')).toBe(false);
    expect(RpcError.is(new Error('x'))).toBe(false);
  });

  it('take the remote message from the payload', () => {
    expect(new RpcRemoteError('p', 'exception', { message: 'nope' }).message).toBe('nope');
    expect(new RpcRemoteError('p', 'exception', 'plain').message).toBe('plain');
    expect(new RpcRemoteError('p', 'exception', 7).message).toMatch(/"p"/);
  });
});
