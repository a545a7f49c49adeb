import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { readHeaders, writeHeaders } from '../../../lib/nats/nats-headers.js';
import { natsConnectionOptions } from '../../../lib/nats/nats-rpc.options.js';

describe('NATS option split', () => {
  it('passes connection options to nats.js and keeps ours out', () => {
    const options = natsConnectionOptions({
      servers: 'nats://127.0.0.1:4222',
      token: 's3cret',
      queue: 'math',
      timeout: 5,
      maxConcurrency: 3,
      closeTimeout: 1,
      destination: () => 'x',
      replyTo: { allow: ['_INBOX.*'] },
    });
    expect(options).toEqual({ servers: 'nats://127.0.0.1:4222', token: 's3cret', maxReconnectAttempts: -1 });
  });

  it('lets the user choose reconnect attempts and the inbox prefix', () => {
    expect(natsConnectionOptions({ maxReconnectAttempts: 3, inboxPrefix: '_R' })).toEqual({
      maxReconnectAttempts: 3,
      inboxPrefix: '_R',
    });
  });

  it('hands connectTimeout to nats.js as its timeout, apart from the request timeout', () => {
    expect(natsConnectionOptions({ timeout: 3_000, connectTimeout: 1_500 })).toEqual({
      maxReconnectAttempts: -1,
      timeout: 1_500,
    });
  });
});

describe('NATS headers', () => {
  it('writes the content type, user headers and, when given, the correlation id', () => {
    const h = writeHeaders({ 'x-tenant': 'a' }, 'application/json', 'c1');
    expect(h.get('x-tenant')).toBe('a');
    expect(h.get('content-type')).toBe('application/json');
    expect(h.get('correlation_id')).toBe('c1');
    expect(writeHeaders({}, 'text/plain').has('correlation_id')).toBe(false);
  });

  it('reads the first value of each header, and nothing from no headers', () => {
    const h = headers();
    h.append('x-a', '1');
    h.append('x-a', '2');
    expect(readHeaders(h)).toEqual({ 'x-a': '1' });
    expect(readHeaders(undefined)).toEqual({});
  });
});

describe('NATS header maps', () => {
  it('keep a header named __proto__ as an entry, not as the prototype', () => {
    const h = headers();
    h.set('__proto__', 'x');
    h.set('x-a', 'b');
    const map = readHeaders(h);
    expect(Object.getPrototypeOf(map)).toBeNull();
    expect(map['__proto__']).toBe('x');
    expect(map['x-a']).toBe('b');
  });
});
