import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { kafkaServerAsyncApi } from './kafka-asyncapi.js';
import { LogThrottle } from '../core/log-throttle.js';
import { DEFAULT_MAX_CONCURRENCY } from '../core/options.js';
import { describe } from '../core/describe.js';
import { checkNonNegativeInt, checkPositiveInt } from '../core/integer-checks.js';
import { RpcServer, type Route } from '../core/rpc-server.js';
import { responderId } from '../core/stream-binding.js';
import { Headers, type InboundMessage, type OutboundMessage } from '../core/wire.js';
import type {
  Assignment,
  DriverAdmin,
  DriverConsumer,
  DriverProducer,
  KafkaDriver,
  KafkaRecord,
  TopicPartitionOffset,
} from './driver/kafka-driver.js';
import { replyHeaders, replyRouteOf } from './kafka-headers.js';
import { KafkaProducing } from './kafka-publish.js';
import { KafkaRpcContext } from './kafka-rpc.context.js';
import {
  clientIdOf,
  DEFAULT_KAFKA_ALLOW_MIXED_SUBSCRIPTIONS,
  DEFAULT_KAFKA_EVENT_RETRIES,
  DEFAULT_KAFKA_IN_FLIGHT_FACTOR,
  DEFAULT_KAFKA_REQUEST_PARTITIONS,
  DEFAULT_KAFKA_SERVER_MAX_WAIT,
  DEFAULT_KAFKA_JOIN_TIMEOUT,
  type KafkaRpcServerOptions,
} from './kafka-rpc.options.js';
import { driverConsumerOptions } from './consumer-options.js';
import { checkTopicName, ensureTopics } from './kafka-topics.js';
import { GroupWatch } from './group-check.js';
import { checkKafkaDriver, createKafkaDriver } from './driver/create-driver.js';
import { PartitionTracker } from './partition-tracker.js';
import { CommitScheduler } from './commit-scheduler.js';
import { failedEventRecord } from './kafka-event-policy.js';
import { ReplyTopics, type TopicLookupResult } from './reply-topics.js';
import {
  ATTR_MESSAGING_CONSUMER_GROUP,
  ATTR_MESSAGING_KAFKA_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_PARTITION_ID,
} from '../telemetry/semconv.js';
import type { TelemetryAttributes } from '../telemetry/telemetry-options.js';
import { kafkaRefusal } from './kafka-refusal.js';

const EMPTY = new Uint8Array(0);

/** What `unwrap()` returns: the transport's handles on the Kafka client library, behind the driver interface. */
export interface KafkaServerHandles {
  admin: DriverAdmin;
  producer: DriverProducer;
  consumer?: DriverConsumer;
}

/**
 * Kafka transport server. One consumer group per service (`consumer.groupId`); each request topic
 * is a pattern. Requests of every partition, and within one partition, run concurrently up to
 * `maxConcurrency`; per partition only the contiguous prefix of finished offsets is committed
 * (`PartitionTracker` holds the partitions' state, `CommitScheduler` commits).
 * Replies go to the request's `reply_to` topic with its `correlation_id`, or Nest/Spring-style
 * to `kafka_replyTopic` / `kafka_replyPartition` with `kafka_correlationId`.
 */
export class KafkaRpcServer extends RpcServer<KafkaRpcServerOptions, KafkaRpcContext> {
  private readonly groupId: string;
  private readonly responder: string;
  private readonly eventRetries: number;
  private driver?: KafkaDriver;
  private producing?: KafkaProducing;
  private consumer?: DriverConsumer;
  /** Reply topics and partition counts seen, so a reply to a missing one is dropped before it is produced. */
  private readonly replyTopics = new ReplyTopics((topic) => this.lookupReplyTopic(topic));
  private readonly undeliverableLog = new LogThrottle((text) => this.logger.warn(text));
  private topics: string[] = [];
  private patternOf = new Map<string, string>();
  private readonly partitions: PartitionTracker;
  private readonly commits: CommitScheduler;
  /** The group's members were found to consume the same topics: until then no record is taken. */
  private groupChecked = false;
  private readonly group: GroupWatch;
  private stopping = false;
  private recovering = false;

  constructor(options: KafkaRpcServerOptions) {
    super(options);
    if (!options?.client?.brokers?.length) throw new TypeError('KafkaRpcServer needs client.brokers');
    if (options.driver !== undefined) checkKafkaDriver(options.driver);
    checkPositiveInt('maxInFlightPerPartition', options.maxInFlightPerPartition);
    checkPositiveInt('topics.numPartitions', options.topics?.numPartitions);
    checkNonNegativeInt('eventRetries', options.eventRetries);
    if (options.deadLetterTopic !== undefined) checkTopicName(options.deadLetterTopic, 'deadLetterTopic');
    this.eventRetries = options.eventRetries ?? DEFAULT_KAFKA_EVENT_RETRIES;
    const mixed = options.consumer?.allowMixedSubscriptions;
    if (mixed !== undefined && typeof mixed !== 'boolean')
      throw new TypeError(`consumer.allowMixedSubscriptions must be a boolean, got ${typeof mixed}`);
    this.groupId = options.consumer?.groupId || clientIdOf(options);
    this.responder = responderId('kafka', this.groupId);
    this.group = new GroupWatch(
      this.groupId,
      mixed ?? DEFAULT_KAFKA_ALLOW_MIXED_SUBSCRIPTIONS,
      () => (this.stopping ? undefined : this.producing?.admin),
      this.logger,
    );
    const maxInFlight =
      options.maxInFlightPerPartition ??
      DEFAULT_KAFKA_IN_FLIGHT_FACTOR * (options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
    this.commits = new CommitScheduler(
      () => this.partitions.pendingCommit(),
      (offsets) => this.commit(offsets),
      (err) => this.logger.debug?.(`Offset commit failed, retrying: ${describe(err)}`),
    );
    this.partitions = new PartitionTracker(
      {
        handle: (record) => this.handle(record),
        limit: this.limit,
        pause: (topic, partition) => this.consumer?.pause(topic, [partition]),
        resume: (topic, partition) => this.consumer?.resume(topic, [partition]),
        seek: (topic, partition, offset) => this.consumer?.seek(topic, partition, offset),
        committedOffsets: (topic) => this.committedOffsets(topic),
        commitNeeded: () => this.commits.schedule(),
        pausedFull: () => this.counts.increment('partitionsPausedFull'),
        warn: (text) => this.logger.warn(text),
      },
      maxInFlight,
    );
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    const topics = this.options.topics ?? {};
    // partitions are known only for the topics this server creates
    const partitions =
      topics.create === false ? undefined : (topics.numPartitions ?? DEFAULT_KAFKA_REQUEST_PARTITIONS);
    return kafkaServerAsyncApi(this.groupId, clientIdOf(this.options), partitions);
  }

  protected override messagingSystem(): string {
    return 'kafka';
  }

  protected override telemetryAttributes(
    _message: InboundMessage,
    context: KafkaRpcContext,
  ): TelemetryAttributes {
    const attributes: TelemetryAttributes = {
      [ATTR_MESSAGING_CONSUMER_GROUP]: this.groupId,
      [ATTR_MESSAGING_PARTITION_ID]: String(context.getPartition()),
      [ATTR_MESSAGING_KAFKA_OFFSET]: Number(context.getOffset()),
    };
    const key = context.getKey();
    if (key) attributes[ATTR_MESSAGING_KAFKA_KEY] = key.toString('utf8');
    return attributes;
  }

  unwrap<T = KafkaServerHandles>(): T {
    const producing = this.producing;
    if (!producing) {
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.');
    }
    return { admin: producing.admin, producer: producing.producer, consumer: this.consumer } as T;
  }

  protected async startTransport(routes: Route[]): Promise<void> {
    for (const route of routes) {
      checkTopicName(route.destination);
      if (!this.patternOf.has(route.destination)) this.patternOf.set(route.destination, route.pattern);
    }
    this.topics = [...this.patternOf.keys()];
    const driver = await this.createDriver();
    this.driver = driver;
    const producing = new KafkaProducing(driver, this.options.producer);
    this.producing = producing;
    const { admin, producer } = producing;
    try {
      await admin.connect();
      await producer.connect();
      if (this.topics.length === 0) return;
      const topicOptions = this.options.topics ?? {};
      const dlt = this.options.deadLetterTopic;
      await ensureTopics(
        driver,
        admin,
        [...this.topics, ...(dlt !== undefined && !this.patternOf.has(dlt) ? [dlt] : [])].map((topic) => ({
          topic,
          numPartitions: topicOptions.numPartitions ?? DEFAULT_KAFKA_REQUEST_PARTITIONS,
          replicationFactor: topicOptions.replicationFactor ?? -1,
        })),
        topicOptions.create !== false,
      );
      this.partitions.setStartOffsets(await this.startingOffsets());
      const consumer = driver.consumer(
        driverConsumerOptions(this.groupId, this.options.consumer, DEFAULT_KAFKA_SERVER_MAX_WAIT),
      );
      this.consumer = consumer;
      // From the beginning only matters for partitions nobody ever committed and we did not position:
      // partitions added later, whose every record is newer than this server.
      await consumer.subscribe(this.topics, { fromBeginning: true });
      await consumer.run(
        // no record is taken before the group's members were compared
        (topic, partition, records) =>
          this.groupChecked ? this.partitions.offer(topic, partition, records) : 0,
        {
          assigned: (assignment) => this.onAssigned(assignment),
          rebalancing: () => this.commits.expedite(),
          crashed: (err) => this.onCrash(err),
        },
        DEFAULT_KAFKA_JOIN_TIMEOUT,
      );
      await this.group.check(this.topics, true);
      this.groupChecked = true;
      await this.partitions.startsCommitted(DEFAULT_KAFKA_JOIN_TIMEOUT);
    } catch (err) {
      await this.closeTransport().catch(() => undefined);
      throw kafkaRefusal(driver, err, this.options.client) ?? err;
    }
  }

  /** @internal The Kafka client library behind the driver interface; unit tests substitute a fake. */
  protected createDriver(): KafkaDriver | Promise<KafkaDriver> {
    return createKafkaDriver(this.options.driver, this.options.client, this.constructor.name);
  }

  protected async stopIntake(): Promise<void> {
    this.stopping = true;
    this.partitions.stop();
    for (const topic of this.topics) this.consumer?.pause(topic);
  }

  /** A request turned away at close needs nothing here: `handle` leaves its offset uncommitted. */
  protected override refuseAtClose(): void {}

  protected override abortStart(): void {
    // listen() may be waiting for start offsets to be committed: nobody needs them any more
    this.partitions.abortStarts();
  }

  protected async closeTransport(): Promise<void> {
    this.stopping = true;
    this.partitions.stop();
    this.abortStart();
    // Let the continuations of finished handlers run (they mark offsets finished), then commit them.
    if (this.limit.load === 0) await new Promise((resolve) => setImmediate(resolve));
    if (this.consumer)
      await this.commits.flush().catch((err) => this.logger.warn(`Final commit failed: ${describe(err)}`));
    const { consumer, producing } = this;
    this.consumer = undefined;
    this.producing = undefined;
    await consumer
      ?.disconnect()
      .catch((err) => this.logger.warn(`Consumer disconnect failed: ${describe(err)}`));
    await producing?.close();
  }

  protected async publishReply(
    reply: OutboundMessage,
    _request: InboundMessage,
    context: KafkaRpcContext,
  ): Promise<void> {
    const producing = this.producing;
    if (!producing) throw new Error('The connection is closed');
    const record = context.getMessage();
    const route = replyRouteOf(record.headers, record.headerBytes);
    // Checked before it joins a produce request: a bad reply address fails alone and is not retried.
    const undeliverable = await this.replyTopics.check(reply.destination, route.partition);
    if (undeliverable !== undefined) return this.dropUndeliverable(reply, route.partition, undeliverable);
    const { headers, headerBytes, value } = replyHeaders(route, reply);
    try {
      await producing.queue.push({
        topic: reply.destination,
        value,
        headers,
        ...(headerBytes ? { headerBytes } : {}),
        // All the replies to one request go to one partition, so a stream arrives in order: the asked
        // partition, else the one the correlation id hashes to.
        ...(route.partition !== undefined
          ? { partition: route.partition }
          : reply.correlationId !== undefined
            ? { key: reply.correlationId }
            : {}),
      });
    } catch (err) {
      if (this.driver?.errorKind(err) === 'unknown-topic') this.replyTopics.forget(reply.destination);
      throw await producing.limits.toError(err, reply.destination, reply.destination, reply.body.byteLength);
    }
  }

  private dropUndeliverable(reply: OutboundMessage, partition: number | undefined, why: string): void {
    this.counts.increment('repliesUndeliverable');
    this.undeliverableLog.warn(() => {
      const where =
        partition === undefined ? `"${reply.destination}"` : `"${reply.destination}" partition ${partition}`;
      return `Reply to ${where} dropped: ${why}`;
    });
  }

  private async lookupReplyTopic(topic: string): Promise<TopicLookupResult> {
    const admin = this.producing?.admin;
    if (!admin) throw new Error('The connection is closed');
    try {
      return (await admin.partitionCounts([topic])).get(topic) ?? 'missing';
    } catch (err) {
      if (this.driver?.errorKind(err) === 'not-authorized') return 'forbidden';
      throw err;
    }
  }

  /** End offsets of the partitions the group never committed: a new group starts there, not at old records. */
  private async startingOffsets(): Promise<TopicPartitionOffset[]> {
    const admin = this.producing!.admin;
    const start: TopicPartitionOffset[] = [];
    await Promise.all(
      this.topics.map(async (topic) => {
        const [committed, ends] = await Promise.all([
          admin.committedOffsets(this.groupId, topic),
          admin.endOffsets(topic),
        ]);
        for (const [partition, end] of ends) {
          if (committed.get(partition) === undefined) start.push({ topic, partition, offset: end });
        }
      }),
    );
    return start;
  }

  /** Handles one record; `true` once its offset may be committed, `false` when it was turned away at close. */
  private async handle(record: KafkaRecord): Promise<boolean> {
    const route = replyRouteOf(record.headers, record.headerBytes);
    const message: InboundMessage = {
      destination: record.topic,
      pattern: this.patternOf.get(record.topic) ?? record.topic,
      body: record.value ?? EMPTY,
      headers: record.headers,
      contentType: record.headers[Headers.contentType],
      correlationId: route.correlationId,
      replyTo: route.replyTo,
      // a group delivers each record to one member: a second answer from the group is a redelivery
      responder: this.responder,
    };
    const outcome = await this.dispatchWithOutcome(message, new KafkaRpcContext([message, record]));
    if (outcome === 'failed') await this.onEventFailed(record);
    // Turned away at close: left uncommitted, so the partition's next owner handles it.
    return outcome !== 'refused';
  }

  /** Retries or dead-letters a failed event (`failedEventRecord`); produced before its offset is committed. */
  private async onEventFailed(record: KafkaRecord): Promise<void> {
    const next = failedEventRecord(record, this.eventRetries, this.options.deadLetterTopic);
    const where = `"${record.topic}" partition ${record.partition} offset ${record.offset}`;
    if (next.action === 'drop') {
      this.logger.warn(
        `Dropped the failed event at ${where} after ${next.failures} attempt(s) (no deadLetterTopic)`,
      );
      return;
    }
    try {
      if (!this.producing) throw new Error('The connection is closed');
      await this.producing.queue.push(next.record);
      this.counts.increment(next.action === 'retry' ? 'eventsRetried' : 'eventsDeadLettered');
    } catch (err) {
      const to = next.action === 'retry' ? 'retry' : `dead-letter to "${next.record.topic}"`;
      this.logger.error(`Could not ${to} the failed event at ${where}; dropped: ${describe(err)}`);
    }
  }

  /** After every join: the tracker takes the assignment; a member joined, it may be another service. */
  private onAssigned(assignment: Assignment): void {
    this.partitions.assigned(assignment);
    if (this.recovering) {
      this.recovering = false;
      this.emitStatus('connected');
    }
    if (this.groupChecked) void this.group.check(this.topics, false);
  }

  private async committedOffsets(topic: string): Promise<Map<number, string | undefined>> {
    const admin = this.producing?.admin;
    if (!admin) throw new Error('The connection is closed');
    return admin.committedOffsets(this.groupId, topic);
  }

  private onCrash(err: Error): void {
    if (this.stopping) return;
    this.logger.error(`Kafka consumer failed, it rejoins by itself: ${describe(err)}`);
    if (!this.recovering) {
      this.recovering = true;
      this.emitStatus('reconnecting');
    }
  }

  private commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return Promise.reject(new Error('The connection is closed'));
    return consumer.commit(offsets);
  }
}
