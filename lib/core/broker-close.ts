import { afterAtLeast } from './clock.js';

/**
 * Waits for a step of `close()` that needs the broker's answer, at most `ms`. Resolves true when the
 * step settled (resolved or failed: close goes on either way), false when the broker did not answer in
 * time. A broker gone silent (a partition, a hung node) would otherwise hold `close()` until the
 * heartbeat or ping gives up, or for ever: amqplib's close waits for close-ok, a NATS drain for its flush.
 */
export async function settledWithin(step: Promise<unknown>, ms: number): Promise<boolean> {
  let cancel: (() => void) | undefined;
  const settled = await Promise.race([
    step.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (cancel = afterAtLeast(ms, () => resolve(false)))),
  ]);
  cancel?.();
  return settled;
}
