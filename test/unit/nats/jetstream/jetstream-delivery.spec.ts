import { describe, expect, it } from 'vitest';
import {
  afterDispatch,
  DeadLetterHeaders,
  deadLetterHeaders,
  onArrival,
} from '../../../../lib/nats/jetstream/jetstream-delivery.js';
import { headerMap } from '../../../../lib/core/wire.js';

describe('JetStream delivery decisions', () => {
  it('dead-letters on arrival only past maxDeliver deliveries', () => {
    expect(onArrival(1, 2)).toBeUndefined();
    expect(onArrival(2, 2)).toBeUndefined();
    expect(onArrival(3, 2)).toEqual({ do: 'dead-letter', reason: 'max-deliver' });
  });

  it('acks what was handled, redelivers at once what was turned away at close', () => {
    expect(afterDispatch('handled', 1, 5, 1_000)).toEqual({ do: 'ack' });
    expect(afterDispatch('refused', 1, 5, 1_000)).toEqual({ do: 'nak', delay: 0 });
  });

  it('retries a failed event after retryDelay, and dead-letters it on the last allowed delivery', () => {
    expect(afterDispatch('failed', 4, 5, 1_000)).toEqual({ do: 'nak', delay: 1_000 });
    expect(afterDispatch('failed', 5, 5, 1_000)).toEqual({ do: 'dead-letter', reason: 'failed' });
  });

  it('dead-letters at once what cannot be handled', () => {
    expect(afterDispatch('rejected', 1, 5, 1_000)).toEqual({ do: 'dead-letter', reason: 'rejected' });
  });

  it('keeps the original headers on a dead letter and adds why, how often and where from', () => {
    const original = headerMap();
    original['x-tenant'] = 'a';
    const headers = deadLetterHeaders(original, 'max-deliver', 6, 'jobs.run');
    expect({ ...headers }).toEqual({
      'x-tenant': 'a',
      [DeadLetterHeaders.reason]: 'max-deliver',
      [DeadLetterHeaders.deliveryCount]: '6',
      [DeadLetterHeaders.originalSubject]: 'jobs.run',
    });
    expect(original[DeadLetterHeaders.reason]).toBeUndefined();
  });
});
