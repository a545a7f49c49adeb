import { afterEach, describe, expect, it, vi } from 'vitest';
import { RpcCounters, SERVER_COUNTERS } from '../../../lib/core/counters.js';
import { RunningStreams } from '../../../lib/core/running-streams.js';
import { type HeaderMap, Headers, type InboundMessage } from '../../../lib/core/wire.js';

const message = (): InboundMessage => ({
  destination: 'math.sum',
  pattern: 'math.sum',
  body: new Uint8Array(0),
  headers: {},
  replyTo: 'reply.here',
});

describe('RunningStreams', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('arms no maxStreamDuration timer for a handling that settles before its signal is read (one reply)', () => {
    vi.useFakeTimers();
    const streams = new RunningStreams(new RpcCounters(SERVER_COUNTERS));
    const run = streams.start(message(), false, 60_000);
    expect(vi.getTimerCount()).toBe(0);
    run.end();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('bounds a stream that runs on by maxStreamDuration, and stops it with a stream-limit frame', () => {
    vi.useFakeTimers();
    const counts = new RpcCounters(SERVER_COUNTERS);
    const streams = new RunningStreams(counts);
    const run = streams.start(message(), false, 60_000);
    const { signal } = run;
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ type: 'error', kind: 'stream-limit' });
    expect(counts.get('streamsExpired')).toBe(1);
    run.end();
  });

  it('takes a cancel message for an attempt only once a frame named it, and forgets it at the end', () => {
    const streams = new RunningStreams(new RpcCounters(SERVER_COUNTERS));
    const msg = message();
    const run = streams.start(msg, false, 0);
    const first: HeaderMap = { [Headers.stream]: 'next' };
    streams.stamp(msg, first);
    const attempt = first[Headers.attempt]!;
    expect(streams.size).toBe(1);
    expect(streams.cancel(attempt)).toBe(true);
    expect(run.signal.aborted).toBe(true);
    run.end();
    expect(streams.size).toBe(0);
    expect(streams.cancel(attempt)).toBe(false);
  });
});
