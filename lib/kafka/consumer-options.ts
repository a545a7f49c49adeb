import type { DriverConsumerOptions } from './driver/kafka-driver.js';
import {
  DEFAULT_KAFKA_HEARTBEAT_INTERVAL,
  DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION,
  DEFAULT_KAFKA_SESSION_TIMEOUT,
  type KafkaConsumerTuning,
} from './kafka-rpc.options.js';

/**
 * A consumer's options as both sides hand them to the driver: the user's, with the defaults filled
 * in here once. Only the fetch wait differs by side (`maxWaitDefault`). `rebalanceTimeout` stays
 * the client library's own default unless given.
 */
export function driverConsumerOptions(
  groupId: DriverConsumerOptions['groupId'],
  given: KafkaConsumerTuning | undefined,
  maxWaitDefault: number,
): DriverConsumerOptions {
  const c = given ?? {};
  return {
    groupId,
    sessionTimeout: c.sessionTimeout ?? DEFAULT_KAFKA_SESSION_TIMEOUT,
    heartbeatInterval: c.heartbeatInterval ?? DEFAULT_KAFKA_HEARTBEAT_INTERVAL,
    ...(c.rebalanceTimeout !== undefined ? { rebalanceTimeout: c.rebalanceTimeout } : {}),
    maxWaitTimeInMs: c.maxWaitTimeInMs ?? maxWaitDefault,
    maxBytesPerPartition: c.maxBytesPerPartition ?? DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION,
  };
}
