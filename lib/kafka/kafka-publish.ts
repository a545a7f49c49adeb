import { RpcPayloadTooLargeError } from '../core/errors.js';
import type { DriverAdmin, DriverProducer, KafkaDriver } from './driver/kafka-driver.js';
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

/**
 * What a client and a server each produce with: an admin (topics, offsets), a producer, the topics'
 * size limits and the queue that coalesces sends. Each side connects admin and producer in its own
 * order (the client creates its reply topic in between); closing is the same on both.
 */
export class KafkaProducing {
  readonly admin: DriverAdmin;
  readonly producer: DriverProducer;
  readonly limits: PayloadLimits;
  readonly queue: ProduceQueue;

  constructor(driver: KafkaDriver, options: KafkaProducerOptions = {}) {
    this.admin = driver.admin();
    this.producer = driver.producer(options);
    this.limits = new PayloadLimits(driver, () => this.admin);
    this.queue = new ProduceQueue(
      (records) => this.producer.send(records),
      (err) => driver.errorKind(err) === 'too-large',
    );
  }

  /** Disconnects the producer, then the admin; a failure to disconnect is ignored. */
  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
