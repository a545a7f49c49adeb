import { describe, expect, it } from 'vitest';
import {
  encodeNestReply,
  encodeNestRequest,
  NEST_NO_HANDLER,
  readNestReply,
  readNestRequest,
} from '../../../lib/core/nest-envelope.js';
import { type HeaderMap, Headers, type OutboundMessage } from '../../../lib/core/wire.js';

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const json = (body: Uint8Array) => JSON.parse(Buffer.from(body).toString('utf8'));
const reply = (body: unknown, headers: HeaderMap = {}): OutboundMessage => ({
  destination: 'inbox',
  body: body === undefined ? new Uint8Array(0) : bytes(body),
  contentType: 'application/json',
  headers,
});

describe('readNestRequest: the detection rule', () => {
  it('reads a request and an event envelope without a content type', () => {
    expect(readNestRequest(bytes({ pattern: 'a', data: [1], id: 'x' }), undefined)).toEqual({
      pattern: 'a',
      data: [1],
      id: 'x',
    });
    expect(readNestRequest(bytes({ pattern: { cmd: 'a' }, data: 1 }), undefined)).toEqual({
      pattern: { cmd: 'a' },
      data: 1,
    });
    expect(readNestRequest(bytes({ pattern: 'a' }), undefined)).toEqual({ pattern: 'a' });
  });

  it('leaves alone what our clients send and what is not exactly the envelope', () => {
    const envelope = bytes({ pattern: 'a', data: 1, id: 'x' });
    expect(readNestRequest(envelope, 'application/json')).toBeUndefined();
    expect(readNestRequest(bytes({ pattern: 'a', data: 1, extra: true }), undefined)).toBeUndefined();
    expect(readNestRequest(bytes({ data: 1, id: 'x' }), undefined)).toBeUndefined();
    expect(readNestRequest(bytes({ pattern: 'a', id: 7 }), undefined)).toBeUndefined();
    expect(readNestRequest(bytes([{ pattern: 'a' }]), undefined)).toBeUndefined();
    expect(readNestRequest(bytes('{"pattern":'), undefined)).toBeUndefined();
    expect(readNestRequest(bytes('plain text'), undefined)).toBeUndefined();
  });
});

describe('encodeNestReply: our replies as a Nest built-in server sends them', () => {
  it('final value, stream value, stream end', () => {
    expect(json(encodeNestReply(reply(5), 'x'))).toEqual({ id: 'x', response: 5, isDisposed: true });
    expect(json(encodeNestReply(reply(5, { [Headers.stream]: 'next' }), 'x'))).toEqual({
      id: 'x',
      response: 5,
    });
    expect(json(encodeNestReply(reply(undefined, { [Headers.stream]: 'end' }), 'x'))).toEqual({
      id: 'x',
      isDisposed: true,
    });
  });

  it('an error payload as `err`, no handler as Nest words it', () => {
    const payload = { status: 'error', message: 'no' };
    expect(json(encodeNestReply(reply(payload, { [Headers.error]: 'exception' }), 'x'))).toEqual({
      id: 'x',
      err: payload,
      isDisposed: true,
    });
    expect(json(encodeNestReply(reply(payload, { [Headers.error]: 'no-handler' }), 'x'))).toEqual({
      id: 'x',
      status: 'error',
      err: NEST_NO_HANDLER,
    });
  });
});

describe('readNestReply and encodeNestRequest: our client speaking to a Nest built-in server', () => {
  it('maps each reply shape to ours', () => {
    const final = readNestReply(bytes({ id: 'x', response: 5, isDisposed: true }));
    expect(final.id).toBe('x');
    expect(final.reply.headers[Headers.stream]).toBeUndefined();
    expect(json(final.reply.body)).toBe(5);
    expect(readNestReply(bytes({ id: 'x', response: 5 })).reply.headers[Headers.stream]).toBe('next');
    expect(readNestReply(bytes({ id: 'x', isDisposed: true })).reply.headers[Headers.stream]).toBe('end');
    const failed = readNestReply(bytes({ id: 'x', err: { code: 'E' }, isDisposed: true })).reply;
    expect(failed.headers[Headers.error]).toBe('exception');
    expect(json(failed.body)).toEqual({ code: 'E' });
    expect(
      readNestReply(bytes({ id: 'x', status: 'error', err: NEST_NO_HANDLER })).reply.headers[Headers.error],
    ).toBe('no-handler');
  });

  it('reads a body that is not an envelope as a final value, as Nest does', () => {
    const foreign = readNestReply(bytes({ response: 1, other: 2 }));
    expect(foreign.reply.headers[Headers.stream]).toBeUndefined();
    expect(json(foreign.reply.body)).toEqual({ response: 1, other: 2 });
  });

  it('wraps a payload, with an id for a request and without for an event', () => {
    const payload = { body: bytes([1, 2]), contentType: 'application/json' };
    expect(json(encodeNestRequest('a', payload, 'x'))).toEqual({ pattern: 'a', data: [1, 2], id: 'x' });
    expect(json(encodeNestRequest('a', payload))).toEqual({ pattern: 'a', data: [1, 2] });
    expect(json(encodeNestRequest('a', { body: bytes('hi'), contentType: 'text/plain' }))).toEqual({
      pattern: 'a',
      data: 'hi',
    });
  });
});
