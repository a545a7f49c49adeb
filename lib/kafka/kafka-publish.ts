import { RpcPayloadTooLargeError } from '../core/errors.js';
import type { DriverAdmin, DriverProducer, KafkaDriver } from './kafka-driver.js';
import type { KafkaProducerOptions } from './kafka-rpc.options.js';
import { ProduceQueue } from './produce-queue.js';

/** Kafka's default `max.message.bytes`, used when the topic's own value cannot be read. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Turns the broker's size refusal into `RpcPayloadTooLargeError`, with the topic's limit when it can be read. */
export class PayloadLimits {
  private readonly limits = new Map<string, Promise<number>>();

  constructor(
    private readonly driver: KafkaDriver,
    private readonly admin: () => DriverAdmin | undefined,
  ) {}

  async toError(err: unknown, topic: string, pattern: string, size: number): Promise<unknown> {
    if (this.driver.errorKind(err) !== 'too-large') return err;
    return new RpcPayloadTooLargeError(pattern, size, await this.limitOf(topic));
  }

  private limitOf(topic: string): Promise<number> {
    let limit = this.limits.get(topic);
    if (!limit) {
      const admin = this.admin();
      limit = (admin ? admin.topicConfig(topic, 'max.message.bytes') : Promise.resolve(undefined)).then(
        (value) => (value ? Number(value) : KAFKA_DEFAULT_MAX_MESSAGE_BYTES),
        () => KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
      );
      this.limits.set(topic, limit);
    }
    return limit;
  }
}

/** What both sides produce with: an admin (topics, size limits), a producer, and the queue that coalesces sends. */
export interface Producing {
  admin: DriverAdmin;
  producer: DriverProducer;
  limits: PayloadLimits;
  queue: ProduceQueue;
}

export function createProducing(driver: KafkaDriver, options: KafkaProducerOptions = {}): Producing {
  const admin = driver.admin();
  const producer = driver.producer(options);
  return {
    admin,
    producer,
    limits: new PayloadLimits(driver, () => admin),
    queue: new ProduceQueue(
      (records) => producer.send(records),
      (err) => driver.errorKind(err) === 'too-large',
    ),
  };
}
