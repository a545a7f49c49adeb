/**
 * `KafkaDriver` on kafkajs. Everything kafkajs-specific lives here.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Logger } from '@nestjs/common';
import kafkajs, {
  type Admin,
  type Consumer,
  type IHeaders,
  type ISocketFactory,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { tlsVerificationCode } from '../../core/connection-refusal.js';
import { describe } from '../../core/describe.js';
import { toBuffer } from '../../core/bytes.js';
import { type HeaderMap, headerMap } from '../../core/wire.js';
import { untilFirstJoin } from '../driver/first-join.js';
import type {
  Assignment,
  BatchHandler,
  ConsumerListener,
  DriverAdmin,
  DriverConsumer,
  DriverConsumerOptions,
  DriverErrorKind,
  DriverProducer,
  GroupDescription,
  HeaderBytes,
  KafkaDriver,
  KafkaRecord,
  ProduceRecord,
  TopicPartitionOffset,
  TopicSpec,
} from '../driver/kafka-driver.js';
import {
  DEFAULT_KAFKA_CLIENT_ID,
  DEFAULT_KAFKA_RETRY,
  type KafkaConnectionOptions,
  type KafkaProducerOptions,
} from '../kafka-rpc.options.js';

const { AssignerProtocol, Kafka, Partitioners, logLevel: LogLevel } = kafkajs;

const LEVELS = {
  nothing: LogLevel.NOTHING,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
};

/**
 * How old a kafkajs consumer's metadata may get before its next fetch refreshes it (kafkajs default
 * 300 000 ms). A consumer whose partition leader died does not refresh on the connection errors
 * (kafkajs's `recoverFromFetch` handles only stale-metadata errors and a closed connection): it
 * retries the dead node until its retries run out (about 10 s with `DEFAULT_KAFKA_RETRY`) and
 * then crashes and rejoins its group. With this age one of those retries finds the new leader within
 * about 2 s of the move. Cost: one Metadata request of the consumer's topics every 2 s.
 */
export const KAFKAJS_CONSUMER_METADATA_MAX_AGE_MS = 2_000;

/**
 * How old a kafkajs producer's metadata may get before its next send refreshes it (kafkajs default
 * 300 000 ms). kafkajs refreshes on a send's stale-metadata errors, but a leader cut off by a network
 * partition answers nothing: every send to it waits out its request timeout and retries against the
 * same stale leader. With this age the next send after the controller moved leadership asks for fresh
 * metadata and goes to the new leader. Cost: one Metadata request of the produced topics every 2 s
 * while sending.
 */
export const KAFKAJS_PRODUCER_METADATA_MAX_AGE_MS = 2_000;

export function createKafkajsDriver(options: KafkaConnectionOptions, logContext: string): KafkaDriver {
  return new KafkajsDriver(options, logContext);
}

class KafkajsDriver implements KafkaDriver {
  private readonly kafka: InstanceType<typeof Kafka>;
  private readonly retry: { retries: number; initialRetryTime: number; maxRetryTime: number };
  private readonly tls: boolean;
  private readonly config: KafkaConfig;

  constructor(options: KafkaConnectionOptions, logContext: string) {
    const logger = new Logger(logContext);
    this.tls = options.ssl !== undefined && options.ssl !== false;
    this.retry = { ...DEFAULT_KAFKA_RETRY, ...options.retry };
    const config: KafkaConfig = {
      brokers: options.brokers,
      clientId: options.clientId || DEFAULT_KAFKA_CLIENT_ID,
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(options.sasl ? { sasl: options.sasl as KafkaConfig['sasl'] } : {}),
      ...(options.connectionTimeout !== undefined ? { connectionTimeout: options.connectionTimeout } : {}),
      ...(options.requestTimeout !== undefined ? { requestTimeout: options.requestTimeout } : {}),
      retry: this.retry,
      logLevel: LEVELS[options.logLevel ?? 'warn'],
      logCreator: () => (entry: LogEntry) => log(logger, entry),
      socketFactory,
    };
    this.config = config;
    this.kafka = new Kafka(config);
  }

  admin(): DriverAdmin {
    // kafkajs's connect retries come from the Kafka instance (its cluster), not the admin's own options
    const single = () => new Kafka({ ...this.config, retry: { ...this.retry, retries: 0 } }).admin();
    return new KafkajsAdmin(this.kafka.admin({ retry: this.retry }), this.tls ? single : undefined);
  }

  producer(options: KafkaProducerOptions): DriverProducer {
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
      metadataMaxAge: KAFKAJS_PRODUCER_METADATA_MAX_AGE_MS,
      retry: this.retry,
    });
    return new KafkajsProducer(producer, options);
  }

  consumer(options: DriverConsumerOptions): DriverConsumer {
    const fresh = typeof options.groupId === 'function';
    const create = () =>
      this.kafka.consumer({
        groupId: typeof options.groupId === 'function' ? options.groupId() : options.groupId,
        sessionTimeout: options.sessionTimeout,
        heartbeatInterval: options.heartbeatInterval,
        ...(options.rebalanceTimeout !== undefined ? { rebalanceTimeout: options.rebalanceTimeout } : {}),
        maxWaitTimeInMs: options.maxWaitTimeInMs,
        maxBytesPerPartition: options.maxBytesPerPartition,
        metadataMaxAge: KAFKAJS_CONSUMER_METADATA_MAX_AGE_MS,
        allowAutoTopicCreation: false,
        // kafkajs restarts a crashed consumer itself (same group) for retriable errors, after asking this.
        // With fresh groups we restart it ourselves, as a new consumer in a new group.
        retry: { ...this.retry, restartOnFailure: async () => !fresh },
      });
    return new KafkajsConsumer(create, this.retry.initialRetryTime, this.retry.maxRetryTime);
  }

  errorKind(error: unknown): DriverErrorKind {
    if (isSaslRefusal(error)) return 'authentication';
    for (const type of errorTypes(error)) {
      if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return 'too-large';
      if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return 'unknown-topic';
      if (type.endsWith('_AUTHORIZATION_FAILED') || type === 'POLICY_VIOLATION') return 'not-authorized';
    }
    return 'other';
  }

  explain(error: unknown): string {
    // kafkajs aggregates per-topic failures (createTopics) under a generic message
    const inner = (error as { errors?: unknown } | null | undefined)?.errors;
    if (!Array.isArray(inner) || inner.length === 0) return describe(error);
    const reasons = inner.map((e: { topic?: unknown }) =>
      typeof e?.topic === 'string' ? `${e.topic}: ${describe(e)}` : describe(e),
    );
    return `${describe(error)}: ${reasons.join('; ')}`;
  }
}

class KafkajsAdmin implements DriverAdmin {
  constructor(
    private readonly admin: Admin,
    /** An admin without retries, for the first attempt of a TLS connection. */
    private readonly single?: () => Admin,
  ) {}

  async connect(): Promise<void> {
    // kafkajs retries a refused TLS handshake like a lost connection, for seconds: one attempt without
    // retries first, so that a refused certificate (or SASL login) fails connect at once
    if (this.single) {
      const single = this.single();
      try {
        await single.connect();
      } catch (err) {
        if (tlsVerificationCode(err) || isSaslRefusal(err)) throw err;
      } finally {
        await single.disconnect().catch(() => undefined);
      }
    }
    await this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    // One topic per request: kafkajs fails the whole request when one of them is missing.
    await Promise.all(
      topics.map(async (topic) => {
        try {
          const { topics: found } = await this.admin.fetchTopicMetadata({ topics: [topic] });
          const meta = found.find((t) => t.name === topic);
          if (meta) counts.set(topic, meta.partitions.length);
        } catch (err) {
          if (!errorTypes(err).includes('UNKNOWN_TOPIC_OR_PARTITION')) throw err;
        }
      }),
    );
    return counts;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    try {
      await this.admin.createTopics({ topics, waitForLeaders: true });
    } catch (err) {
      // Another instance created it meanwhile.
      const types = errorTypes(err);
      if (types.length > 0 && types.every((type) => type === 'TOPIC_ALREADY_EXISTS')) return;
      throw err;
    }
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await retried(() => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string | undefined>> {
    const [entry] = await retried(() => this.admin.fetchOffsets({ groupId, topics: [topic] }));
    return new Map(
      (entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset) >= 0 ? p.offset : undefined]),
    );
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { groups } = await retried(() => this.admin.describeGroups([groupId]));
    const group = groups.find((g) => g.groupId === groupId);
    // Another protocol type (a Connect worker, a share group) has no consumer subscriptions to compare.
    if (!group || group.protocolType !== 'consumer') return { stable: true, members: [] };
    return {
      stable: group.state === 'Stable',
      members: group.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        host: m.clientHost,
        topics: subscribedTopics(m.memberMetadata),
      })),
    };
  }

  async topicConfig(topic: string, name: string): Promise<string | undefined> {
    const { resources } = await this.admin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
      includeSynonyms: false,
    });
    return resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
  }
}

class KafkajsProducer implements DriverProducer {
  constructor(
    private readonly producer: Producer,
    private readonly options: KafkaProducerOptions,
  ) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(records: ProduceRecord[]): Promise<void> {
    const byTopic = new Map<string, kafkajs.Message[]>();
    for (const r of records) {
      let messages = byTopic.get(r.topic);
      if (!messages) byTopic.set(r.topic, (messages = []));
      messages.push({
        value: r.value === null ? null : toBuffer(r.value),
        ...(r.key !== undefined ? { key: typeof r.key === 'string' ? r.key : toBuffer(r.key) } : {}),
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
        headers: r.headerBytes ? { ...r.headers, ...r.headerBytes } : r.headers,
      });
    }
    await this.producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      acks: this.options.acks ?? -1,
      ...(this.options.ackTimeout !== undefined ? { timeout: this.options.ackTimeout } : {}),
    });
  }
}

/** Exported for unit tests only. */
export class KafkajsConsumer implements DriverConsumer {
  private consumer?: Consumer;
  private topics: string[] = [];
  private fromBeginning = false;
  private closed = false;
  private restartTimer?: NodeJS.Timeout;
  private handler?: BatchHandler;
  private listener: ConsumerListener = {};
  /** Crashes since the last successful join: the restart backoff grows with them. */
  private failures = 0;

  constructor(
    private readonly create: () => Consumer,
    private readonly initialRetryTime: number,
    private readonly maxRetryTime: number,
  ) {}

  async subscribe(topics: string[], options: { fromBeginning: boolean }): Promise<void> {
    this.topics = topics;
    this.fromBeginning = options.fromBeginning;
  }

  async run(handler: BatchHandler, listener: ConsumerListener, joinTimeoutMs: number): Promise<void> {
    this.handler = handler;
    await untilFirstJoin(
      listener,
      joinTimeoutMs,
      (wrapped) => {
        this.listener = wrapped;
        return this.start();
      },
      () => this.disconnect(),
    );
  }

  private async start(): Promise<void> {
    const consumer = this.create();
    this.consumer = consumer;
    const { GROUP_JOIN, CRASH, REBALANCING } = consumer.events;
    // kafkajs calls these synchronously where the event happens: GROUP_JOIN before the first fetch.
    consumer.on(GROUP_JOIN, (e) => {
      if (this.consumer !== consumer) return;
      this.failures = 0;
      this.listener.assigned?.(e.payload.memberAssignment as Assignment);
    });
    consumer.on(REBALANCING, () => this.listener.rebalancing?.());
    consumer.on(CRASH, (e) => {
      if (this.consumer !== consumer || this.closed) return;
      this.listener.crashed?.(e.payload.error);
      // kafkajs gave up (an error it deems fatal, or a restart we declined): start a new consumer.
      if (!e.payload.restart) this.restart(this.failures++);
    });
    // disconnect() may come while a restart is connecting: never leave a consumer running after it.
    const abandoned = async () => {
      if (!this.closed && this.consumer === consumer) return false;
      await consumer.disconnect().catch(() => undefined);
      return true;
    };
    await consumer.connect();
    if (await abandoned()) return;
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.fromBeginning });
    if (await abandoned()) return;
    const handler = this.handler!;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const messages = batch.messages;
        const records = messages.map((m) => toRecord(batch.topic, batch.partition, m));
        const taken = handler(batch.topic, batch.partition, records);
        if (taken > 0) resolveOffset(messages[taken - 1]!.offset);
      },
    });
    await abandoned();
  }

  private restart(attempt: number): void {
    clearTimeout(this.restartTimer);
    const delay = Math.min(this.maxRetryTime, this.initialRetryTime * 2 ** attempt);
    this.restartTimer = setTimeout(() => {
      if (this.closed) return;
      const previous = this.consumer;
      void Promise.resolve(previous?.disconnect())
        .catch(() => undefined)
        .then(() => (this.closed ? undefined : this.start()))
        .catch((err: Error) => {
          this.listener.crashed?.(err);
          this.restart(Math.max(attempt + 1, this.failures++));
        });
    }, delay);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer?.seek({ topic, partition, offset });
  }

  pause(topic: string, partitions?: number[]): void {
    this.consumer?.pause([partitions ? { topic, partitions } : { topic }]);
  }

  resume(topic: string, partitions?: number[]): void {
    this.consumer?.resume([partitions ? { topic, partitions } : { topic }]);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.consumer) throw new Error('The consumer is not running');
    await this.consumer.commitOffsets(offsets);
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}

/**
 * kafkajs's socket factory plus `setNoDelay`: without it Nagle's algorithm holds a request written
 * while an earlier one on the same connection is unacknowledged (a commit behind a long-poll fetch,
 * concurrent produce requests) for a delayed-ACK period.
 */
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

/** kafkajs's error for a SASL login the broker refused, as thrown or wrapped by its retrier. */
function isSaslRefusal(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if ((e as Error).name === 'KafkaJSSASLAuthenticationError') return true;
  }
  return false;
}

/**
 * Retries retriable broker errors that kafkajs's admin gives up on at once, such as
 * NOT_LEADER_FOR_PARTITION right after a topic was created (its leader is known but not serving yet).
 */
async function retried<T>(call: () => Promise<T>, attempts = 30, delayMs = 100): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || (err as { retriable?: unknown })?.retriable !== true) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * The topics in a consumer's group-member metadata (Kafka's ConsumerProtocolSubscription, which
 * kafkajs's assigners write with `AssignerProtocol.MemberMetadata`); `undefined` when there is
 * none (the coordinator sends none while the group rebalances) or it cannot be read. Exported for unit tests only.
 */
export function subscribedTopics(metadata: Buffer | undefined): string[] | undefined {
  if (!metadata || metadata.length === 0) return undefined;
  try {
    const topics = AssignerProtocol.MemberMetadata.decode(metadata)?.topics;
    return Array.isArray(topics) && topics.every((t) => typeof t === 'string') ? [...topics] : undefined;
  } catch {
    return undefined;
  }
}

function toRecord(topic: string, partition: number, m: KafkaMessage): KafkaRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    ...readHeaders(m.headers),
    timestamp: m.timestamp,
  };
}

/** Record headers to maps without prototype, own keys only: `__proto__` is a header like any other. */
function readHeaders(headers: IHeaders | undefined): { headers: HeaderMap; headerBytes: HeaderBytes } {
  const map = headerMap();
  const bytes = Object.create(null) as HeaderBytes;
  if (!headers) return { headers: map, headerBytes: bytes };
  for (const name of Object.keys(headers)) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[0];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') map[name] = value;
    else {
      map[name] = value.toString('utf8');
      bytes[name] = value;
    }
  }
  return { headers: map, headerBytes: bytes };
}

/** Protocol error types along an error's cause chain and inside aggregate errors. */
function errorTypes(error: unknown, out: string[] = [], depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 5) return out;
  const e = error as { type?: unknown; cause?: unknown; errors?: unknown; originalError?: unknown };
  if (typeof e.type === 'string') out.push(e.type);
  if (Array.isArray(e.errors)) for (const inner of e.errors) errorTypes(inner, out, depth + 1);
  errorTypes(e.cause, out, depth + 1);
  errorTypes(e.originalError, out, depth + 1);
  return out;
}

/** Broker answers we expect and handle, which kafkajs logs as errors anyway. */
const EXPECTED = /does not host this topic-partition|Topic with this name already exists/;

function log(logger: Logger, { level, log: entry }: LogEntry): void {
  const { message, ...extra } = entry as { message: string } & Record<string, unknown>;
  const detail = extra.error ? `: ${String(extra.error)}` : '';
  const text = `${message}${detail}`;
  if (level === LogLevel.ERROR && !EXPECTED.test(text)) logger.error(text);
  else if (level === LogLevel.WARN) logger.warn(text);
  else if (level === LogLevel.INFO) logger.log(text);
  else logger.debug?.(text);
}
