import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lib/kafka/driver/kafka-driver.js';
import { failedEventRecord, retryCountOf } from '../../../lib/kafka/kafka-event-policy.js';

const record = (headers: Record<string, string>): KafkaRecord => ({
  topic: 'orders',
  partition: 2,
  offset: '7',
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers,
  timestamp: '0',
});

describe('failedEventRecord', () => {
  it('produces the event again to its partition with the failure count, up to eventRetries', () => {
    const next = failedEventRecord(record({ a: '1' }), 2, 'dead');
    expect(next).toEqual({
      action: 'retry',
      record: {
        topic: 'orders',
        partition: 2,
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        headers: { a: '1', 'rpc-retry-count': '1' },
      },
    });
    expect(failedEventRecord(record({ 'rpc-retry-count': '1' }), 2, 'dead').action).toBe('retry');
  });
  it('then dead-letters it with the final count, or drops it without a dead-letter topic', () => {
    const next = failedEventRecord(record({ 'rpc-retry-count': '2' }), 2, 'dead');
    expect(next.action).toBe('dead-letter');
    expect(next.action === 'dead-letter' && next.record).toMatchObject({
      topic: 'dead',
      headers: { 'rpc-retry-count': '3' },
    });
    expect(failedEventRecord(record({}), 0, undefined)).toEqual({ action: 'drop', failures: 1 });
  });
  it('reads a missing or malformed count as 0', () => {
    expect(retryCountOf({})).toBe(0);
    expect(retryCountOf({ 'rpc-retry-count': 'x' })).toBe(0);
    expect(retryCountOf({ 'rpc-retry-count': '-1' })).toBe(0);
    expect(retryCountOf({ 'rpc-retry-count': '4' })).toBe(4);
  });
});
