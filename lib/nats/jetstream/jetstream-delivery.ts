import type { DispatchOutcome } from '../../core/rpc-server.js';
import { type HeaderMap, headerMap } from '../../core/wire.js';

/** Header names on a dead letter: why, after how many deliveries, and where the message was sent. */
export const DeadLetterHeaders = {
  reason: 'rpc-dead-letter-reason',
  deliveryCount: 'rpc-delivery-count',
  originalSubject: 'rpc-original-subject',
} as const;

/**
 * Why a message was dead-lettered: delivered more than `maxDeliver` times (the workers died on it),
 * its event handler failed on the last allowed delivery, or it could not be handled at all.
 */
export type DeadLetterReason = 'max-deliver' | 'failed' | 'rejected';

/** What becomes of a delivered message. */
export type Settlement =
  | { do: 'ack' }
  /** Redeliver, after `delay` ms (0: at once). */
  | { do: 'nak'; delay: number }
  | { do: 'dead-letter'; reason: DeadLetterReason };

/** Before the handler runs: a message past `maxDeliver` deliveries is dead-lettered, not handled again. */
export function onArrival(deliveryCount: number, maxDeliver: number): Settlement | undefined {
  return deliveryCount > maxDeliver ? { do: 'dead-letter', reason: 'max-deliver' } : undefined;
}

/**
 * After dispatch: handled (replied, or its event handler ran) → ack; turned away at close → redeliver
 * at once (another worker takes it); a failed event → retry after `retryDelay`, dead-letter on the
 * last allowed delivery; one that could not be handled (undecodable, no handler) → dead-letter.
 */
export function afterDispatch(
  outcome: DispatchOutcome,
  deliveryCount: number,
  maxDeliver: number,
  retryDelay: number,
): Settlement {
  switch (outcome) {
    case 'handled':
      return { do: 'ack' };
    case 'refused':
      return { do: 'nak', delay: 0 };
    case 'failed':
      return deliveryCount >= maxDeliver
        ? { do: 'dead-letter', reason: 'failed' }
        : { do: 'nak', delay: retryDelay };
    case 'rejected':
      return { do: 'dead-letter', reason: 'rejected' };
  }
}

/** The dead letter's headers: the original ones plus why, how often, and its subject. */
export function deadLetterHeaders(
  original: HeaderMap,
  reason: DeadLetterReason,
  deliveryCount: number,
  subject: string,
): HeaderMap {
  const headers = headerMap();
  for (const key of Object.keys(original)) headers[key] = original[key]!;
  headers[DeadLetterHeaders.reason] = reason;
  headers[DeadLetterHeaders.deliveryCount] = String(deliveryCount);
  headers[DeadLetterHeaders.originalSubject] = subject;
  return headers;
}
