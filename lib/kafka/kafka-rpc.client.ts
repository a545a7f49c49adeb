import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { kafkaClientAsyncApi } from './kafka-asyncapi.js';
import { randomBytes } from 'node:crypto';
import { RpcConnectionError, RpcNoRespondersError } from '../core/errors.js';
import { describe } from '../core/describe.js';
import { checkPositiveInt } from '../core/integer-checks.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../core/rpc-client.js';
import { type HeaderMap, Headers } from '../core/wire.js';
import type {
  Assignment,
  DriverAdmin,
  DriverConsumer,
  DriverProducer,
  KafkaDriver,
  KafkaRecord,
  ProduceRecord,
} from './driver/kafka-driver.js';
import { KafkaProducing } from './kafka-publish.js';
import {
  clientIdOf,
  DEFAULT_KAFKA_CLIENT_MAX_WAIT,
  DEFAULT_KAFKA_JOIN_TIMEOUT,
  DEFAULT_KAFKA_REPLY_PARTITIONS,
  DEFAULT_KAFKA_REPLY_SUFFIX,
  type KafkaRpcClientOptions,
} from './kafka-rpc.options.js';
import { driverConsumerOptions } from './consumer-options.js';
import { checkTopicName, ensureTopics } from './kafka-topics.js';
import { checkKafkaDriver, createKafkaDriver } from './driver/create-driver.js';
import { kafkaRefusal } from './kafka-refusal.js';
import { nestKafkaRequestHeaders, readNestKafkaReply } from './kafka-nest-protocol.js';
import { DEFAULT_PROTOCOL } from '../core/options.js';

const EMPTY = new Uint8Array(0);

/** What `unwrap()` returns: the transport's handles on the Kafka client library, behind the driver interface. */
export interface KafkaClientHandles {
  admin: DriverAdmin;
  producer: DriverProducer;
  consumer: DriverConsumer;
}

/**
 * Kafka transport client. Requests go to the topic named by the pattern with `correlation_id`,
 * `reply_to` and `content-type` headers. Replies come back on one persistent reply topic per
 * client service (`replyTopic`, shared by its instances); every instance reads every partition of
 * it through a consumer group of its own, starting at the end offsets read before `connect()`
 * resolves, and drops replies whose correlation id it does not hold. See docs/kafka.md.
 */
export class KafkaRpcClient extends RpcClient<KafkaRpcClientOptions> {
  /** The reply topic this client reads and names in `reply_to`. */
  readonly replyTopic: string;
  private driver?: KafkaDriver;
  private producing?: KafkaProducing;
  private consumer?: DriverConsumer;
  /** Next offset to read, per reply partition: where the reply consumer resumes after any rejoin. */
  private positions = new Map<number, string>();
  private readonly knownTopics = new Set<string>();
  private readonly topicChecks = new Map<string, Promise<void>>();
  private recovering = false;
  private foreign = 0;
  private received = 0;
  /** `protocol: 'nest'`: `kafka_*` request headers, for an unchanged Nest `ServerKafka`. */
  private readonly nest: boolean;

  constructor(options: KafkaRpcClientOptions) {
    super(options);
    this.nest = (options?.protocol ?? DEFAULT_PROTOCOL) === 'nest';
    if (!options?.client?.brokers?.length) throw new TypeError('KafkaRpcClient needs client.brokers');
    if (options.driver !== undefined) checkKafkaDriver(options.driver);
    checkPositiveInt('topics.numPartitions', options.topics?.numPartitions);
    this.replyTopic = checkTopicName(
      options.replyTopic ?? `${clientIdOf(options)}${DEFAULT_KAFKA_REPLY_SUFFIX}`,
      'Reply topic',
    );
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    const partitions = this.options.topics?.numPartitions ?? DEFAULT_KAFKA_REPLY_PARTITIONS;
    return kafkaClientAsyncApi(this.replyTopic, clientIdOf(this.options), partitions, this.nest);
  }

  protected override messagingSystem(): string {
    return 'kafka';
  }

  unwrap<T = KafkaClientHandles>(): T {
    const { producing, consumer } = this;
    if (!producing || !consumer) {
      throw new Error('Not initialized. Please call the "connect" method first.');
    }
    return { admin: producing.admin, producer: producing.producer, consumer } as T;
  }

  /** Reply-topic records read by this instance, and how many of them belonged to another instance (or came late). */
  get replyStats(): { received: number; foreign: number } {
    return { received: this.received, foreign: this.foreign };
  }

  /** @internal The Kafka client library behind the driver interface; unit tests substitute a fake. */
  protected createDriver(): KafkaDriver | Promise<KafkaDriver> {
    return createKafkaDriver(this.options.driver, this.options.client, this.constructor.name);
  }

  protected async connectTransport(): Promise<void> {
    const driver = await this.createDriver();
    this.driver = driver;
    const producing = new KafkaProducing(driver, this.options.producer);
    this.producing = producing;
    const { admin, producer } = producing;
    try {
      await admin.connect();
      const topics = this.options.topics ?? {};
      await ensureTopics(
        driver,
        admin,
        [
          {
            topic: this.replyTopic,
            numPartitions: topics.numPartitions ?? DEFAULT_KAFKA_REPLY_PARTITIONS,
            replicationFactor: topics.replicationFactor ?? -1,
          },
        ],
        topics.create !== false,
      );
      await producer.connect();
      // Every reply produced from here on has an offset at or past these: the consumer starts there.
      this.positions = await admin.endOffsets(this.replyTopic);
      const consumer = driver.consumer(
        driverConsumerOptions(
          // A consumer group of its own, new at every (re)start: nobody else's rebalance ever touches
          // it, and a restarted consumer never waits for its previous incarnation's session to expire.
          () => `${this.replyTopic}.${randomBytes(6).toString('hex')}`,
          this.options.consumer,
          DEFAULT_KAFKA_CLIENT_MAX_WAIT,
        ),
      );
      this.consumer = consumer;
      // From the beginning only applies to a partition added to the reply topic after connect: all of it is new.
      await consumer.subscribe([this.replyTopic], { fromBeginning: true });
      await consumer.run(
        (_topic, partition, records) => this.onReplies(partition, records),
        {
          assigned: (assignment) => this.onAssigned(consumer, assignment),
          crashed: (err) => this.onCrash(err),
        },
        DEFAULT_KAFKA_JOIN_TIMEOUT,
      );
    } catch (err) {
      await this.closeTransport().catch(() => undefined);
      throw kafkaRefusal(driver, err, this.options.client) ?? err;
    }
  }

  protected async closeTransport(): Promise<void> {
    const { consumer, producing } = this;
    this.consumer = undefined;
    this.producing = undefined;
    this.knownTopics.clear();
    this.topicChecks.clear();
    await consumer
      ?.disconnect()
      .catch((err) => this.logger.warn(`Reply consumer disconnect failed: ${describe(err)}`));
    await producing?.close();
  }

  protected async publishRequest(request: OutboundRequest, entry: ActiveRequest): Promise<void> {
    if (this.nest)
      return this.produce(
        request,
        nestKafkaRequestHeaders(request.headers, request.contentType, entry.correlationId, this.replyTopic),
      );
    const headers: HeaderMap = {
      ...request.headers,
      [Headers.contentType]: request.contentType,
      [Headers.correlationId]: entry.correlationId,
      [Headers.replyTo]: this.replyTopic,
    };
    await this.produce(request, headers);
  }

  protected async publishEvent(event: OutboundRequest): Promise<void> {
    const headers: HeaderMap = { ...event.headers, [Headers.contentType]: event.contentType };
    if (event.replyTo !== undefined)
      headers[Headers.replyTo] = checkTopicName(event.replyTo, 'Reply-to pattern');
    await this.produce(event, headers);
  }

  private async produce(request: OutboundRequest, headers: HeaderMap): Promise<void> {
    const producing = this.producing;
    if (!producing) throw new RpcConnectionError('The connection is closed');
    const topic = checkTopicName(request.destination);
    if (!this.knownTopics.has(topic)) await this.checkTopic(topic);
    const record: ProduceRecord = { topic, value: request.body, headers };
    if (request.options.key !== undefined) record.key = request.options.key;
    if (request.options.partition !== undefined) record.partition = request.options.partition;
    try {
      await producing.queue.push(record);
    } catch (err) {
      if (this.driver?.errorKind(err) === 'unknown-topic') {
        this.knownTopics.delete(topic);
        throw new RpcNoRespondersError(topic);
      }
      throw await producing.limits.toError(err, topic, topic, request.body.byteLength);
    }
  }

  /** The first request to a topic checks that it exists: a missing topic fails at once instead of timing out. */
  private checkTopic(topic: string): Promise<void> {
    let check = this.topicChecks.get(topic);
    if (!check) {
      const admin = this.producing?.admin;
      if (!admin) return Promise.reject(new RpcConnectionError('The connection is closed'));
      check = admin
        .partitionCounts([topic])
        .then((counts) => {
          if (!counts.has(topic)) throw new RpcNoRespondersError(topic);
          this.knownTopics.add(topic);
        })
        .finally(() => this.topicChecks.delete(topic));
      this.topicChecks.set(topic, check);
    }
    return check;
  }

  private onAssigned(consumer: DriverConsumer, assignment: Assignment): void {
    // Called on every join (the first, and after a broker restart or a consumer restart), before the
    // first fetch: continue exactly where this instance stopped reading, whatever kafkajs committed.
    for (const partition of assignment[this.replyTopic] ?? []) {
      const position = this.positions.get(partition);
      if (position !== undefined) consumer.seek(this.replyTopic, partition, position);
    }
    if (this.recovering) {
      this.recovering = false;
      this.emitStatus('connected');
    }
  }

  private onReplies(partition: number, records: KafkaRecord[]): number {
    for (const record of records) {
      this.positions.set(partition, String(Number(record.offset) + 1));
      this.received++;
      const nest = this.nest ? readNestKafkaReply(record.headers, record.value) : undefined;
      const correlationId = nest ? nest.correlationId : record.headers[Headers.correlationId];
      if (correlationId === undefined || this.pending.get(correlationId) === undefined) {
        this.foreign++;
        continue;
      }
      try {
        this.handleReply(
          correlationId,
          nest?.reply ?? {
            body: record.value ?? EMPTY,
            headers: record.headers,
            contentType: record.headers[Headers.contentType],
          },
        );
      } catch (err) {
        this.logger.error(`Reply handling failed: ${describe(err)}`);
      }
    }
    return records.length;
  }

  private onCrash(err: Error): void {
    if (!this.consumer) return;
    this.logger.error(`Reply consumer failed, it rejoins by itself: ${describe(err)}`);
    if (!this.recovering) {
      this.recovering = true;
      this.emitStatus('reconnecting');
    }
  }
}
