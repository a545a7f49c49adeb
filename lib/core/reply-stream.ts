import type { Observable } from 'rxjs';
import type { RpcRemoteErrorKind } from './errors.js';

/**
 * One reply to send: a value (final or with more to come), an end marker, or an error (`kind` set
 * when the core itself ends the stream; else the error is classified as a handler's).
 */
export type ReplyFrame =
  | { type: 'value'; value: unknown; final: boolean }
  | { type: 'end' }
  | { type: 'error'; error: unknown; kind?: RpcRemoteErrorKind };

/**
 * Turns a handler's Observable into reply frames, sent one after another.
 *
 * A value is held back until the next notification: if the stream completes right after it
 * (a plain return value, a promise, `of(x)`), it goes out as one final message; if the stream
 * keeps going, it is flushed as `next` in a microtask (once the synchronous emission is over), so slow streams are
 * not delayed. `eventMode` (reply-elsewhere) sends every value as a final message and no end marker.
 *
 * `stop`'s signal aborted unsubscribes from the stream: nothing more is sent, unless its reason is a
 * frame, which is sent after the value held back (a stream stopped for its caller is told why). The
 * signal is read only if the stream outlives its subscription call, so a caller may make it on demand.
 *
 * Resolves once the stream has settled and every frame has been handed to `send`.
 */
export function streamReplies(
  stream$: Observable<unknown>,
  send: (frame: ReplyFrame) => Promise<void> | void,
  eventMode = false,
  stop?: { readonly signal: AbortSignal },
): Promise<void> {
  return new Promise<void>((resolve) => {
    let chain: Promise<void> = Promise.resolve();
    let held: { value: unknown } | undefined;
    let flushScheduled = false;
    let settled = false;
    let signal: AbortSignal | undefined;
    const settle = () => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      chain.then(resolve, resolve);
    };
    const onAbort = () => {
      if (settled) return;
      subscription.unsubscribe();
      const last = signal!.reason as ReplyFrame | undefined;
      if (last && typeof last === 'object' && 'type' in last) {
        flush();
        enqueue(last);
      }
      held = undefined;
      settle();
    };
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
    const subscription = stream$.subscribe({
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
        settle();
      },
      complete: () => {
        if (held) enqueue({ type: 'value', value: held.value, final: true });
        else if (!eventMode) enqueue({ type: 'end' });
        held = undefined;
        settle();
      },
    });
    if (!settled && stop) {
      signal = stop.signal;
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort);
    }
  });
}
