import { RpcConnectionError, RpcInvalidPatternError } from '../core/errors.js';
import type { DriverAdmin, KafkaDriver, TopicSpec } from './driver/kafka-driver.js';

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

/** Whether Kafka accepts the name as a topic. */
export function isLegalTopicName(name: string): boolean {
  return LEGAL.test(name) && name !== '.' && name !== '..';
}

/** Throws `RpcInvalidPatternError` for a name Kafka refuses as a topic. */
export function checkTopicName(name: string, what = 'Pattern'): string {
  if (!isLegalTopicName(name)) {
    throw new RpcInvalidPatternError(
      `${what} "${name}" is not a valid Kafka topic name (1-249 characters of a-z, A-Z, 0-9, ".", "_", "-")`,
    );
  }
  return name;
}

/**
 * Makes sure the topics exist: creates the missing ones when allowed, otherwise fails with an
 * error naming them. Resolves with the partition count of every topic.
 */
export async function ensureTopics(
  driver: KafkaDriver,
  admin: DriverAdmin,
  specs: TopicSpec[],
  create: boolean,
): Promise<Map<string, number>> {
  const topics = specs.map((s) => s.topic);
  let counts = await admin.partitionCounts(topics);
  const missing = specs.filter((s) => !counts.has(s.topic));
  if (missing.length === 0) return counts;
  const names = missing.map((s) => `"${s.topic}"`).join(', ');
  if (!create) {
    throw new RpcConnectionError(
      `Kafka topic ${names} does not exist and topic creation is disabled (topics.create: false); create it first`,
    );
  }
  try {
    await admin.createTopics(missing);
  } catch (err) {
    const why =
      driver.errorKind(err) === 'not-authorized'
        ? `this client is not allowed to create topics (${driver.explain(err)})`
        : driver.explain(err);
    throw new RpcConnectionError(`Kafka topic ${names} does not exist and could not be created: ${why}`, {
      cause: err,
    });
  }
  counts = await admin.partitionCounts(topics);
  return counts;
}
