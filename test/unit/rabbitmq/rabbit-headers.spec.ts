import { describe, expect, it } from 'vitest';
import { readHeaders } from '../../../lib/rabbitmq/rabbit-headers.js';

describe('RabbitMQ headers', () => {
  it('do not take the entries of a header named __proto__ for headers', () => {
    // amqplib decodes a table with `fields[key] = value`: a `__proto__` table becomes the prototype
    const received: Record<string, unknown> = {};
    received['__proto__'] = { 'rpc-error': 'internal' };
    received['x-a'] = 'b';
    expect(received['rpc-error']).toBe('internal');
    const headers = readHeaders(received);
    expect(headers['rpc-error']).toBeUndefined();
    expect(Object.keys(headers)).toEqual(['x-a']);
    expect(Object.getPrototypeOf(headers)).toBeNull();
  });
});
