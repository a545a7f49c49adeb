import { concat, delay, from, of, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ReplyFrame, streamReplies } from '../../../lib/core/reply-stream.js';

async function frames(source: Parameters<typeof streamReplies>[0], eventMode = false): Promise<ReplyFrame[]> {
  const out: ReplyFrame[] = [];
  await streamReplies(source, (f) => void out.push(f), eventMode);
  return out;
}

describe('streamReplies', () => {
  it('sends a single value as one final message', async () => {
    expect(await frames(of(6))).toEqual([{ type: 'value', value: 6, final: true }]);
  });

  it('sends a synchronous stream as next messages and a final last value', async () => {
    expect(await frames(from([1, 2, 3]))).toEqual([
      { type: 'value', value: 1, final: false },
      { type: 'value', value: 2, final: false },
      { type: 'value', value: 3, final: true },
    ]);
  });

  it('flushes a value without waiting for the next one, then ends with an end marker', async () => {
    const subject = new Subject<number>();
    const out: ReplyFrame[] = [];
    const done = streamReplies(subject, (f) => void out.push(f));
    subject.next(1);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual([{ type: 'value', value: 1, final: false }]);
    subject.complete();
    await done;
    expect(out).toEqual([{ type: 'value', value: 1, final: false }, { type: 'end' }]);
  });

  it('sends only an end marker for an empty stream', async () => {
    expect(await frames(from([]))).toEqual([{ type: 'end' }]);
  });

  it('sends the values before an error, then the error', async () => {
    expect(
      await frames(
        concat(
          of(1),
          throwError(() => 'boom'),
        ),
      ),
    ).toEqual([
      { type: 'value', value: 1, final: false },
      { type: 'error', error: 'boom' },
    ]);
  });

  it('in event mode sends every value as a final message and no end marker', async () => {
    expect(await frames(from([1, 2]), true)).toEqual([
      { type: 'value', value: 1, final: true },
      { type: 'value', value: 2, final: true },
    ]);
    expect(await frames(from([]), true)).toEqual([]);
  });

  it('keeps frames in order when sending is slow', async () => {
    const out: number[] = [];
    await streamReplies(from([1, 2, 3]).pipe(delay(1)), async (f) => {
      await new Promise((r) => setTimeout(r, 3 - out.length));
      if (f.type === 'value') out.push(f.value as number);
    });
    expect(out).toEqual([1, 2, 3]);
  });

  it('stops at an abort: unsubscribes from the stream and sends nothing more', async () => {
    const subject = new Subject<number>();
    const stop = new AbortController();
    const out: ReplyFrame[] = [];
    const done = streamReplies(subject, (f) => void out.push(f), false, stop);
    subject.next(1);
    await new Promise((r) => setImmediate(r));
    subject.next(2);
    stop.abort();
    await done;
    expect(subject.observed).toBe(false);
    expect(out).toEqual([{ type: 'value', value: 1, final: false }]);
  });

  it('sends the held value and then the frame an abort gives as its reason', async () => {
    const subject = new Subject<number>();
    const stop = new AbortController();
    const out: ReplyFrame[] = [];
    const done = streamReplies(subject, (f) => void out.push(f), false, stop);
    subject.next(1);
    stop.abort({ type: 'error', kind: 'stream-limit', error: 'too long' } satisfies ReplyFrame);
    await done;
    expect(out).toEqual([
      { type: 'value', value: 1, final: false },
      { type: 'error', kind: 'stream-limit', error: 'too long' },
    ]);
  });
});
