import { describe, expect, it } from 'vitest';
import { failedEventAction, isQuorum } from '../../../lib/rabbitmq/rabbit-event-policy.js';

describe('failedEventAction', () => {
  const quorumDlx = { quorum: true, deadLetter: true };
  it('retries on a quorum queue while the delivery count is below eventRetries, then dead-letters', () => {
    expect(failedEventAction(quorumDlx, {}, 2)).toBe('retry');
    expect(failedEventAction(quorumDlx, { 'x-delivery-count': 1 }, 2)).toBe('retry');
    expect(failedEventAction(quorumDlx, { 'x-delivery-count': 2 }, 2)).toBe('dead-letter');
    expect(failedEventAction({ quorum: true, deadLetter: false }, { 'x-delivery-count': 2 }, 2)).toBe('drop');
  });
  it('never retries where the broker counts nothing (classic queues), or with eventRetries 0', () => {
    expect(failedEventAction({ quorum: false, deadLetter: true }, {}, 5)).toBe('dead-letter');
    expect(failedEventAction({ quorum: false, deadLetter: false }, undefined, 5)).toBe('drop');
    expect(failedEventAction(quorumDlx, {}, 0)).toBe('dead-letter');
  });
  it('trusts a delivery count header on a queue declared elsewhere', () => {
    expect(failedEventAction({ quorum: false, deadLetter: true }, { 'x-delivery-count': 0 }, 1)).toBe(
      'retry',
    );
    expect(isQuorum({ arguments: { 'x-queue-type': 'quorum' } })).toBe(true);
    expect(isQuorum({})).toBe(false);
  });
});
