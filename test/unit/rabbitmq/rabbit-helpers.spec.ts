import { describe, expect, it } from 'vitest';
import { PublishGate } from '../../../lib/rabbitmq/rabbit-flow.js';
import { toBuffer } from '../../../lib/core/bytes.js';
import { readHeaders, shortString } from '../../../lib/rabbitmq/rabbit-headers.js';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { DEFAULT_RABBIT_MAX_MESSAGE_SIZE } from '../../../lib/rabbitmq/rabbit-rpc.options.js';
import {
  hasDeadLetterExchange,
  queueArguments,
  RoutingTable,
  topicMatches,
} from '../../../lib/rabbitmq/rabbit-topology.js';

describe('topicMatches (RabbitMQ topic binding semantics)', () => {
  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['a.#', 'a', true],
    ['a.#', 'a.b.c.d', true],
    ['#', '', true],
    ['#', 'x.y', true],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.x.c', true],
    ['a.#.c', 'a.b.x.d', false],
    ['*.b', 'a.b', true],
    ['*', 'a.b', false],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bb', false],
    ['#.#.z', 'z', true],
  ])('%s vs %s -> %s', (binding, key, expected) => {
    expect(topicMatches(binding, key)).toBe(expected);
  });
});

describe('RoutingTable', () => {
  const table = new RoutingTable(
    [
      { binding: 'w.*.*', pattern: 'P1' },
      { binding: 'w.a.exact', pattern: 'P2' },
      { binding: 'o.#', pattern: 'P3' },
    ],
    true,
  );
  it('prefers the exact pattern, then the first matching wildcard', () => {
    expect(table.patternFor('w.a.exact')).toBe('P2');
    expect(table.patternFor('w.a.b')).toBe('P1');
    expect(table.patternFor('o')).toBe('P3');
    expect(table.patternFor('nothing')).toBeUndefined();
    expect(table.patternFor('w.a.b')).toBe('P1'); // cached
  });
  it('treats wildcards literally for a direct exchange', () => {
    const direct = new RoutingTable([{ binding: 'd.*', pattern: 'STAR' }], false);
    expect(direct.patternFor('d.*')).toBe('STAR');
    expect(direct.patternFor('d.x')).toBeUndefined();
  });
});

describe('queue declaration arguments', () => {
  it('defaults to non-durable, and maps quorum and dead-lettering to x- arguments', () => {
    expect(queueArguments({})).toEqual({ durable: false, autoDelete: false, arguments: {} });
    expect(
      queueArguments({ quorum: true, autoDelete: true, durable: false, arguments: { 'x-max-length': 5 } }),
    ).toEqual({
      durable: true,
      autoDelete: false,
      arguments: { 'x-max-length': 5, 'x-queue-type': 'quorum' },
    });
    expect(queueArguments({ deadLetterExchange: '', deadLetterRoutingKey: 'dlq' }).arguments).toEqual({
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'dlq',
    });
  });
  it('knows when rejected messages are dead-lettered', () => {
    expect(hasDeadLetterExchange({})).toBe(false);
    expect(hasDeadLetterExchange({ deadLetterExchange: 'dlx' })).toBe(true);
    expect(hasDeadLetterExchange({ arguments: { 'x-dead-letter-exchange': 'dlx' } })).toBe(true);
  });
});

describe('AMQP headers and properties', () => {
  it('reads foreign header values as text', () => {
    expect(
      readHeaders({
        s: 'x',
        n: 7,
        b: true,
        buf: Buffer.from('bytes'),
        t: { a: 1 },
        arr: [1, 'x'],
        nil: null,
        u: undefined,
      }),
    ).toEqual({ s: 'x', n: '7', b: 'true', buf: 'bytes', t: '{"a":1}', arr: '[1,"x"]' });
    expect(readHeaders(undefined)).toEqual({});
  });
  it('reads short strings and passes buffers through', () => {
    expect(shortString(undefined)).toBeUndefined();
    expect(shortString('')).toBeUndefined();
    expect(shortString(Buffer.from('id'))).toBe('id');
    expect(shortString(12)).toBe('12');
    const buf = Buffer.from('x');
    expect(toBuffer(buf)).toBe(buf);
    const u8 = new Uint8Array([1, 2, 3]).subarray(1);
    expect([...toBuffer(u8)]).toEqual([2, 3]);
  });
});

describe('PublishGate', () => {
  it('holds publishers while full or blocked and releases them when both clear', async () => {
    const gate = new PublishGate();
    expect(gate.open).toBe(true);
    gate.fill();
    gate.block();
    let released = false;
    const waiting = gate.wait().then(() => (released = true));
    gate.drain();
    await Promise.resolve();
    expect(released).toBe(false); // still blocked
    gate.unblock();
    await waiting;
    expect(gate.open).toBe(true);
  });
  it('lets waiters re-check on reset', async () => {
    const gate = new PublishGate();
    gate.block();
    const waiting = gate.wait();
    gate.reset();
    await waiting;
    expect(gate.open).toBe(true);
  });
});

describe('RabbitRpcServer options', () => {
  it('requires a service queue with an exchange, and sane numbers', () => {
    expect(() => new RabbitRpcServer({ exchange: 'x' })).toThrow(/serviceQueue/);
    expect(() => new RabbitRpcServer({ prefetch: -1 })).toThrow(RangeError);
    expect(() => new RabbitRpcServer({ exchange: 'x', serviceQueue: 'q', prefetch: 0 })).not.toThrow();
  });
});

describe('maxMessageSize', () => {
  it('must be an integer >= 1 on both sides: 0 would refuse every message', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RabbitRpcClient({ maxMessageSize: bad })).toThrow(RangeError);
      expect(() => new RabbitRpcServer({ maxMessageSize: bad })).toThrow(RangeError);
    }
    expect(() => new RabbitRpcClient({ maxMessageSize: 1 })).not.toThrow();
    expect(() => new RabbitRpcServer({ maxMessageSize: 1 })).not.toThrow();
  });
  it("defaults to RabbitMQ 4's max_message_size of 16 MiB", () => {
    expect(DEFAULT_RABBIT_MAX_MESSAGE_SIZE).toBe(16 * 1024 * 1024);
  });
});
