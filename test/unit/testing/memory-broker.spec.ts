import { describe, expect, it } from 'vitest';
import { RpcPayloadTooLargeError } from '../../../lib/index.js';
import { MemoryBroker, type MemoryMessage } from '../../../lib/testing/index.js';
import { subjectMatches } from '../../../lib/core/subjects.js';

const message = (destination: string, body = Buffer.from('hi')): MemoryMessage => ({
  destination,
  body,
  headers: { 'x-a': '1' },
  contentType: 'text/plain',
});

/** Collects what a subscription receives; `next()` resolves with the next one. */
function inbox(broker: MemoryBroker, subject: string, queue?: string) {
  const got: MemoryMessage[] = [];
  let wake: (() => void) | undefined;
  const sub = broker.subscribe(
    subject,
    (m) => {
      got.push(m);
      wake?.();
    },
    queue ? { queue } : {},
  );
  const next = async () => {
    const seen = got.length;
    while (got.length === seen) await new Promise<void>((r) => (wake = r));
    return got[got.length - 1]!;
  };
  return { got, sub, next };
}

describe('subjectMatches', () => {
  it.each([
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['a.b', 'a.b.c', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*.c', 'a.b.c', true],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['>', 'a.b', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
  ])('%s against %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('MemoryBroker', () => {
  it('delivers on a later turn, never in the publisher’s call stack', async () => {
    const broker = new MemoryBroker();
    const a = inbox(broker, 'x');
    broker.publish(message('x'));
    expect(a.got).toHaveLength(0);
    await a.next();
    expect(a.got).toHaveLength(1);
  });

  it('gives each receiver its own copy of the bytes and headers', async () => {
    const broker = new MemoryBroker();
    const a = inbox(broker, 'x');
    const b = inbox(broker, 'x');
    const body = Buffer.from('hi');
    const headers = { 'x-a': '1' };
    broker.publish({ destination: 'x', body, headers });
    body[0] = 0; // the sender reuses its buffer after publishing
    headers['x-a'] = 'changed';
    const [ma, mb] = await Promise.all([a.next(), b.next()]);
    expect(Buffer.from(ma.body).toString()).toBe('hi');
    expect(ma.headers).toEqual({ 'x-a': '1' });
    expect(ma.body).not.toBe(mb.body);
    ma.body[0] = 1;
    expect(Buffer.from(mb.body).toString()).toBe('hi');
  });

  it('sends each message to one member of each queue group and to every subscription without one', async () => {
    const broker = new MemoryBroker();
    const group1 = [inbox(broker, 'job', 'g1'), inbox(broker, 'job', 'g1'), inbox(broker, 'job.*', 'g1')];
    const group2 = [inbox(broker, 'job', 'g2')];
    const loners = [inbox(broker, 'job'), inbox(broker, '>')];
    const barrier = inbox(broker, 'barrier');
    for (let i = 0; i < 9; i++) broker.publish(message('job'));
    broker.publish(message('barrier')); // delivered after the nine: deliveries keep publishing order
    await barrier.next();
    expect(group1.map((s) => s.got.length)).toEqual([5, 4, 0]); // 'job.*' does not match 'job'
    expect(group2[0]!.got).toHaveLength(9);
    expect(loners.map((s) => s.got.length)).toEqual([9, 10]); // '>' gets the barrier too
  });

  it('answers a request nothing receives with a no-responders notice, and a plain publish with nothing', async () => {
    const broker = new MemoryBroker();
    const replies = inbox(broker, 'inbox');
    broker.publish({ ...message('nobody'), replyTo: 'inbox', correlationId: 'c0' });
    broker.request({ ...message('nobody'), replyTo: 'inbox', correlationId: 'c1' });
    const notice = await replies.next();
    expect(notice).toMatchObject({ destination: 'inbox', correlationId: 'c1', status: 'no-responders' });
    expect(replies.got).toHaveLength(1);
  });

  it('drops what was published to a subscription that unsubscribed before delivery', async () => {
    const broker = new MemoryBroker();
    const a = inbox(broker, 'x');
    const b = inbox(broker, 'x');
    broker.publish(message('x'));
    a.sub.unsubscribe();
    a.sub.unsubscribe(); // idempotent
    await b.next();
    expect(a.got).toHaveLength(0);
    expect(broker.subscriptionCount).toBe(1);
  });

  it('keeps delivering to the others when a subscriber throws', async () => {
    const broker = new MemoryBroker();
    broker.subscribe('x', () => {
      throw new Error('boom');
    });
    const b = inbox(broker, 'x');
    broker.publish(message('x'));
    await b.next();
  });

  it('refuses a body above maxPayload, at publish, with RpcPayloadTooLargeError', () => {
    const broker = new MemoryBroker({ maxPayload: 2 });
    expect(() => broker.publish(message('x', Buffer.from('abc')))).toThrow(RpcPayloadTooLargeError);
    expect(() => broker.publish(message('x', Buffer.from('ab')))).not.toThrow();
    expect(new MemoryBroker().maxPayload).toBe(Number.POSITIVE_INFINITY);
  });

  it('validates its options and arguments', () => {
    for (const maxPayload of [0, -1, 1.5, Number.NaN, '10'])
      expect(() => new MemoryBroker({ maxPayload: maxPayload as number })).toThrow(RangeError);
    const broker = new MemoryBroker();
    expect(() => broker.subscribe('', () => undefined)).toThrow(TypeError);
    expect(() => broker.subscribe('x', () => undefined, { queue: '' })).toThrow(TypeError);
  });

  it('has one default instance per process, shared by every copy of the package', () => {
    expect(MemoryBroker.default).toBe(MemoryBroker.default);
    expect(MemoryBroker.default).toBe(
      (globalThis as Record<symbol, unknown>)[Symbol.for('nestjs-broker-rpc.memory-broker.default')],
    );
    expect(MemoryBroker.is(MemoryBroker.default)).toBe(true);
    expect(MemoryBroker.is({})).toBe(false);
    expect(new MemoryBroker()).not.toBe(MemoryBroker.default);
  });
});
