import type { Observable } from 'rxjs';

/** One reply to send: a value (final or with more to come), an end marker, or an error. */
export type ReplyFrame =
  { type: 'value'; value: unknown; final: boolean } | { type: 'end' } | { type: 'error'; error: unknown };

/**
 * Turns a handler's Observable into reply frames, sent one after another.
 *
 * A value is held back until the next notification: if the stream completes right after it
 * (a plain return value, a promise, `of(x)`), it goes out as one final message; if the stream
 * keeps going, it is flushed as `next` in a microtask (once the synchronous emission is over), so slow streams are
 * not delayed. `eventMode` (reply-elsewhere) sends every value as a final message and no end marker.
 *
 * Resolves once the stream has settled and every frame has been handed to `send`.
 */
export function streamReplies(
  stream$: Observable<unknown>,
  send: (frame: ReplyFrame) => Promise<void> | void,
  eventMode = false,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let chain: Promise<void> = Promise.resolve();
    let held: { value: unknown } | undefined;
    let flushScheduled = false;
    const enqueue = (frame: ReplyFrame) => {
      chain = chain.then(() => send(frame));
    };
    const flush = () => {
      flushScheduled = false;
      if (held) {
        enqueue({ type: 'value', value: held.value, final: false });
        held = undefined;
      }
    };
    stream$.subscribe({
      next: (value) => {
        if (eventMode) return enqueue({ type: 'value', value, final: true });
        if (held) enqueue({ type: 'value', value: held.value, final: false });
        held = { value };
        if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
      },
      error: (error) => {
        flush();
        enqueue({ type: 'error', error });
        chain.then(resolve, resolve);
      },
      complete: () => {
        if (held) enqueue({ type: 'value', value: held.value, final: true });
        else if (!eventMode) enqueue({ type: 'end' });
        held = undefined;
        chain.then(resolve, resolve);
      },
    });
  });
}
