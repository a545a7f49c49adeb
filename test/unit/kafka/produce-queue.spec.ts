import { describe, expect, it } from 'vitest';
import type { ProduceRecord } from '../../../lib/kafka/driver/kafka-driver.js';
import {
  MAX_CHUNK_RECORDS,
  MAX_IN_FLIGHT_PER_TOPIC,
  ProduceQueue,
} from '../../../lib/kafka/produce-queue.js';

const record = (topic: string, size = 10): ProduceRecord => ({
  topic,
  value: new Uint8Array(size),
  headers: {},
});
const tooLarge = Object.assign(new Error('too large'), { tooLarge: true });

describe('ProduceQueue', () => {
  it('sends the records of one event-loop turn in one request', async () => {
    const sent: ProduceRecord[][] = [];
    const queue = new ProduceQueue(
      async (records) => void sent.push(records),
      () => false,
    );
    await Promise.all([queue.push(record('a')), queue.push(record('b')), queue.push(record('a'))]);
    expect(sent.map((r) => r.map((x) => x.topic))).toEqual([['a', 'b', 'a']]);
    await queue.push(record('c'));
    expect(sent).toHaveLength(2);
  });

  it('splits a burst into chunks by record count and bytes', async () => {
    const sent: number[] = [];
    const queue = new ProduceQueue(
      async (records) => void sent.push(records.length),
      () => false,
    );
    await Promise.all(Array.from({ length: MAX_CHUNK_RECORDS + 1 }, () => queue.push(record('a'))));
    expect(sent).toEqual([MAX_CHUNK_RECORDS, 1]);
    sent.length = 0;
    await Promise.all([queue.push(record('a', 200_000)), queue.push(record('a', 200_000))]);
    expect(sent).toEqual([1, 1]);
  });

  it('fails every record of a failed chunk', async () => {
    const queue = new ProduceQueue(
      async () => Promise.reject(new Error('down')),
      () => false,
    );
    const results = await Promise.allSettled([queue.push(record('a')), queue.push(record('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('retries a chunk refused for its size one record at a time, so only the oversized one fails', async () => {
    const queue = new ProduceQueue(
      async (records) => {
        if (records.some((r) => r.value!.byteLength > 1_000)) throw tooLarge;
      },
      (err) => (err as { tooLarge?: boolean }).tooLarge === true,
    );
    const results = await Promise.allSettled([
      queue.push(record('a')),
      queue.push(record('a', 5_000)),
      queue.push(record('a')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('retries a failed chunk of several topics one topic at a time, so only the bad topic fails', async () => {
    const unknownTopic = new Error('This server does not host this topic-partition');
    const sent: string[][] = [];
    const queue = new ProduceQueue(
      async (records) => {
        sent.push(records.map((r) => r.topic));
        if (records.some((r) => r.topic === 'missing')) throw unknownTopic;
      },
      () => false,
    );
    const results = await Promise.allSettled([
      queue.push(record('a')),
      queue.push(record('missing')),
      queue.push(record('b')),
      queue.push(record('a')),
      queue.push(record('missing')),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    expect((results[1] as PromiseRejectedResult).reason).toBe(unknownTopic);
    // the whole chunk once, then one request per topic; the bad topic's records are not split further
    expect(sent).toEqual([['a', 'missing', 'b', 'a', 'missing'], ['a', 'a'], ['missing', 'missing'], ['b']]);
  });

  it('splits by topic first, then by record for a size error', async () => {
    const queue = new ProduceQueue(
      async (records) => {
        if (records.some((r) => r.value!.byteLength > 1_000)) throw tooLarge;
      },
      (err) => (err as { tooLarge?: boolean }).tooLarge === true,
    );
    const results = await Promise.allSettled([
      queue.push(record('a')),
      queue.push(record('b', 5_000)),
      queue.push(record('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('keeps at most MAX_IN_FLIGHT_PER_TOPIC requests of a topic in flight; what waits shares the next one', async () => {
    // a leader that holds every produce (acks -1 while a follower is cut off): without the limit each
    // turn of the event loop sent one more request, which a broker would read only after the earlier ones
    const sent: string[][] = [];
    const release: Array<() => void> = [];
    const queue = new ProduceQueue(
      (records) => {
        sent.push(records.map((r) => r.topic));
        return new Promise<void>((resolve) => release.push(resolve));
      },
      () => false,
    );
    const turn = () => new Promise((r) => setImmediate(r));
    const pushed: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      pushed.push(queue.push(record('slow')));
      if (i === 10) pushed.push(queue.push(record('other')));
      await turn();
    }
    expect(sent.filter((s) => s.includes('slow'))).toHaveLength(MAX_IN_FLIGHT_PER_TOPIC);
    // another topic is not held back by the slow one
    expect(sent).toContainEqual(['other']);
    expect(queue.length).toBe(20 - MAX_IN_FLIGHT_PER_TOPIC);
    release.shift()!();
    await turn();
    await turn();
    expect(sent.at(-1)).toEqual(Array(20 - MAX_IN_FLIGHT_PER_TOPIC).fill('slow'));
    while (release.length) release.shift()!();
    await Promise.all(pushed);
    expect(queue.length).toBe(0);
  });
});
