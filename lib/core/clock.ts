/** Milliseconds on a monotonic clock: unaffected by wall-clock changes, like Node's timers. */
export const monotonicNow = (): number => performance.now();

/**
 * Calls `fn` once at least `ms` have passed on the monotonic clock. Node starts a timer from the event
 * loop's cached time, so a plain timer can run early by as long as the current turn has been running;
 * this one re-arms for the rest. Returns a function that cancels it.
 */
export function afterAtLeast(ms: number, fn: () => void): () => void {
  const due = monotonicNow() + ms;
  let timer: NodeJS.Timeout;
  const check = () => {
    const left = due - monotonicNow();
    if (left > 0) timer = setTimeout(check, Math.ceil(left));
    else fn();
  };
  timer = setTimeout(check, ms);
  return () => clearTimeout(timer);
}
