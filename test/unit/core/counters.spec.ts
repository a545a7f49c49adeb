import { describe, expect, it } from 'vitest';
import { RpcCounters } from '../../../lib/core/counters.js';
import { FakeBroker, FakeClient } from './fake-transport.js';

describe('RpcCounters', () => {
  it('starts every named counter at 0 and only counts up', () => {
    const counters = new RpcCounters(['a', 'b'] as const);
    counters.increment('a');
    counters.increment('a', 2);
    expect(counters.snapshot()).toEqual({ a: 3, b: 0 });
    expect(counters.get('b')).toBe(0);
  });

  it('hands out copies, so a reader cannot change them', () => {
    const counters = new RpcCounters(['a'] as const);
    const snapshot = counters.snapshot() as Record<string, number>;
    snapshot.a = 10;
    expect(counters.get('a')).toBe(0);
  });
});

describe('client counters', () => {
  it('count a reply for an unknown correlation id as dropped', async () => {
    const broker = new FakeBroker();
    const client = new FakeClient(broker);
    await client.connect();
    expect(client.counters.repliesDropped).toBe(0);
    broker.deliver({
      destination: 'inbox',
      body: new Uint8Array(),
      headers: {},
      contentType: 'application/json',
      correlationId: 'nobody',
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(client.counters.repliesDropped).toBe(1);
    await client.close();
  });
});
