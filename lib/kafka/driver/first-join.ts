import type { ConsumerListener } from './kafka-driver.js';

/**
 * Starts a consumer and resolves once it was first assigned partitions, or rejects when that takes
 * longer than `joinTimeoutMs` or the start fails, after disconnecting it: the `run()` of every driver.
 * `start` is handed the listener to use, which also hears the first assignment.
 */
export async function untilFirstJoin(
  listener: ConsumerListener,
  joinTimeoutMs: number,
  start: (listener: ConsumerListener) => Promise<void>,
  disconnect: () => Promise<void>,
): Promise<void> {
  let joined!: () => void;
  let failed!: (err: Error) => void;
  const firstJoin = new Promise<void>((resolve, reject) => {
    joined = resolve;
    failed = reject;
  });
  const timer = setTimeout(
    () => failed(new Error(`The consumer did not join its group within ${joinTimeoutMs} ms`)),
    joinTimeoutMs,
  );
  // The client's own connect and join may outlast the timer: race them, so the timeout is honoured and
  // neither promise is ever left rejected without a handler (an unhandled rejection ends the process).
  const started = start({
    ...listener,
    assigned: (assignment) => {
      listener.assigned?.(assignment);
      joined();
    },
  });
  started.catch(() => undefined);
  firstJoin.catch(() => undefined);
  try {
    await Promise.race([started, firstJoin]);
    await firstJoin;
  } catch (err) {
    await disconnect().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
