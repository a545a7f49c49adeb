import { describe, expect, it } from 'vitest';
import {
  CONTENT_TYPE_BYTES,
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_TEXT,
  decode,
  DecodeError,
  encode,
} from '../../../lib/core/codec.js';

describe('codec', () => {
  it('sends bytes raw, strings as UTF-8 text and the rest as JSON', () => {
    const bytes = new Uint8Array([0xff, 0x00]);
    expect(encode(bytes)).toEqual({ body: bytes, contentType: CONTENT_TYPE_BYTES });
    expect(encode('héllo').contentType).toBe(CONTENT_TYPE_TEXT);
    expect(Buffer.from(encode('héllo').body).toString('utf8')).toBe('héllo');
    expect(encode({ a: 1 }).contentType).toBe(CONTENT_TYPE_JSON);
    expect(Buffer.from(encode([1, 'x']).body).toString()).toBe('[1,"x"]');
    expect(encode(undefined).body.length).toBe(0);
  });

  it('round-trips every shape through its content type', () => {
    for (const value of [42, 'text', '42', { nested: [null, true] }, null, Buffer.from([1, 2])]) {
      const { body, contentType } = encode(value);
      expect(decode(body, contentType)).toEqual(value);
    }
  });

  it('follows the content type when decoding, parameters and case included', () => {
    expect(decode(Buffer.from('42'), 'text/plain')).toBe('42');
    expect(decode(Buffer.from('42'), 'Application/JSON; charset=utf-8')).toBe(42);
    expect(decode(Buffer.from('{"a":1}'), 'application/vnd.api+json')).toEqual({ a: 1 });
    expect(Buffer.isBuffer(decode(Buffer.from('42'), 'application/x-custom'))).toBe(true);
  });

  it('without a content type tries JSON, then UTF-8 text, then bytes', () => {
    expect(decode(Buffer.from('30'))).toBe(30);
    expect(decode(Buffer.from('plain words'))).toBe('plain words');
    const bytes = decode(Buffer.from([0xc3, 0x28]));
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(decode(new Uint8Array(0))).toBeUndefined();
  });

  it('raises DecodeError for a body that contradicts its content type', () => {
    expect(() => decode(Buffer.from('{nope'), CONTENT_TYPE_JSON)).toThrow(DecodeError);
    expect(() => decode(Buffer.from([0xc3, 0x28]), 'text/plain')).toThrow(DecodeError);
  });
});
