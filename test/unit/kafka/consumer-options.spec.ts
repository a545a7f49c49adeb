import { describe, expect, it } from 'vitest';
import { driverConsumerOptions } from '../../../lib/kafka/consumer-options.js';
import * as options from '../../../lib/kafka/kafka-rpc.options.js';

const { DEFAULT_KAFKA_HEARTBEAT_INTERVAL, DEFAULT_KAFKA_SESSION_TIMEOUT } = options;
const { DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION } = options;

describe('driverConsumerOptions', () => {
  it('fills in the defaults, with the fetch wait of the side that asks', () => {
    expect(driverConsumerOptions('g', undefined, 123)).toEqual({
      groupId: 'g',
      sessionTimeout: DEFAULT_KAFKA_SESSION_TIMEOUT,
      heartbeatInterval: DEFAULT_KAFKA_HEARTBEAT_INTERVAL,
      maxWaitTimeInMs: 123,
      maxBytesPerPartition: DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION,
    });
    // the values the docs give
    expect([DEFAULT_KAFKA_SESSION_TIMEOUT, DEFAULT_KAFKA_HEARTBEAT_INTERVAL]).toEqual([10_000, 1_000]);
    expect(DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION).toBe(1024 * 1024);
  });

  it('keeps what the user gave, and leaves rebalanceTimeout to the client library unless given', () => {
    const given = {
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 5,
      maxBytesPerPartition: 2_048,
    };
    const options = driverConsumerOptions('g', given, 100);
    expect(options).toEqual({ groupId: 'g', ...given });
    expect('rebalanceTimeout' in options).toBe(false);
    expect(driverConsumerOptions('g', { rebalanceTimeout: 90_000 }, 100).rebalanceTimeout).toBe(90_000);
  });

  it('passes a group id factory through uncalled (a fresh group at every restart)', () => {
    let calls = 0;
    const fresh = () => `replies.${++calls}`;
    expect(driverConsumerOptions(fresh, {}, 100).groupId).toBe(fresh);
    expect(calls).toBe(0);
  });
});
