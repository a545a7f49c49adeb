import type { RabbitQueueOptions } from './rabbit-rpc.options.js';

/** What becomes of an event whose handler failed: requeued, dead-lettered (`nack` without requeue), or acked and dropped. */
export type FailedEventAction = 'retry' | 'dead-letter' | 'drop';

/** The header in which quorum queues count earlier deliveries of a message (absent on the first). */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';

export function isQuorum(options: RabbitQueueOptions): boolean {
  return options.quorum === true || options.arguments?.['x-queue-type'] === 'quorum';
}

/**
 * A failed event is retried while the broker's delivery count (quorum queues) shows fewer than
 * `retries` earlier attempts; classic queues count nothing (only a `redelivered` flag), so there it is
 * never retried: a requeue would loop for ever. Then it is dead-lettered if its queue has a
 * dead-letter exchange, else dropped.
 */
export function failedEventAction(
  queue: { quorum: boolean; deadLetter: boolean },
  headers: Record<string, unknown> | undefined,
  retries: number,
): FailedEventAction {
  if (retries > 0) {
    const raw = headers?.[DELIVERY_COUNT_HEADER];
    const count = raw === undefined || raw === null ? (queue.quorum ? 0 : undefined) : Number(raw);
    if (count !== undefined && Number.isFinite(count) && count < retries) return 'retry';
  }
  return queue.deadLetter ? 'dead-letter' : 'drop';
}
