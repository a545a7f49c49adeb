/**
 * The small surface of a Kafka client library this transport needs. The adapters use only this;
 * `kafkajs/kafkajs-driver.ts` implements it on kafkajs (in maintenance mode), `platformatic/` on
 * `@platformatic/kafka`; another library is plugged in by implementing these interfaces alone.
 */
import type { HeaderMap } from '../../core/wire.js';
import type { KafkaConnectionOptions, KafkaProducerOptions } from '../kafka-rpc.options.js';

/** Header values as the bytes on the wire, for values that are not text (Spring's `kafka_correlationId`). */
export type HeaderBytes = Record<string, Buffer>;

/** A record read from a partition. Header values are decoded as UTF-8 (first value of repeated keys). */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** Offsets are 64-bit; kept as decimal strings. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderMap;
  /** The same header values undecoded (a decoded non-UTF-8 value has lost bytes to U+FFFD). */
  headerBytes?: HeaderBytes;
  timestamp: string;
}

/** A record to produce. Without a partition, the library's partitioner picks one (from the key, if any). */
export interface ProduceRecord {
  topic: string;
  value: Uint8Array | null;
  key?: string | Uint8Array;
  partition?: number;
  headers: HeaderMap;
  /** Values sent as these exact bytes instead of the same keys' text in `headers`. */
  headerBytes?: HeaderBytes;
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** A member of a consumer group, as the group's coordinator describes it. */
export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  /** The topics it subscribed to; `undefined` when its subscription could not be read. */
  topics?: string[];
}

/** A consumer group's members. Their subscriptions are only known while the group is `stable` (not rebalancing). */
export interface GroupDescription {
  stable: boolean;
  members: GroupMember[];
}

/** Partitions by topic. */
export type Assignment = Record<string, number[]>;

/** Batch handler: returns how many leading records it took; the rest are fetched again later. Synchronous. */
export type BatchHandler = (topic: string, partition: number, records: KafkaRecord[]) => number;

export interface ConsumerListener {
  /**
   * The consumer joined its group (first time, or again after a rebalance or a restart) and got
   * `assignment`. Called before the first fetch of that generation, so `seek` here is applied to it.
   */
  assigned?(assignment: Assignment): void;
  /** The consumer failed; it restarts by itself (rejoins, then `assigned` again). */
  crashed?(error: Error): void;
  /** A rebalance started. */
  rebalancing?(): void;
}

export interface DriverConsumerOptions {
  /**
   * The consumer group. A function gives a fresh group to every (re)start of the consumer: a restart
   * then joins at once instead of waiting for the session of its previous, dead member to expire.
   * Only for a group of one member that positions itself on `assigned` (the reply consumer).
   */
  groupId: string | (() => string);
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout?: number;
  maxWaitTimeInMs: number;
  maxBytesPerPartition: number;
}

export interface DriverConsumer {
  subscribe(topics: string[], options: { fromBeginning: boolean }): Promise<void>;
  /** Connects, joins the group and starts fetching; resolves once the first assignment was received. */
  run(handler: BatchHandler, listener: ConsumerListener, joinTimeoutMs: number): Promise<void>;
  /** Next fetch of that partition starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void;
  /** Stops fetching the given partitions (all of the topic when omitted). */
  pause(topic: string, partitions?: number[]): void;
  resume(topic: string, partitions?: number[]): void;
  /** Commits the given next-offsets for the group, in the current generation. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Leaves the group and closes connections. */
  disconnect(): Promise<void>;
}

export interface DriverProducer {
  connect(): Promise<void>;
  /** Sends records (any topics) in as few requests as the library allows. */
  send(records: ProduceRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface DriverAdmin {
  connect(): Promise<void>;
  /** Partition counts of the topics that exist; missing ones are absent from the map. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Creates topics; one that appeared meanwhile is not an error. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Next offset to be written, per partition. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** The group's committed next-offsets per partition (`undefined` where it has none). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string | undefined>>;
  /** The members of a consumer group and the topics each subscribed to. */
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** A topic config value, e.g. `max.message.bytes`. */
  topicConfig(topic: string, name: string): Promise<string | undefined>;
  disconnect(): Promise<void>;
}

/** What an error from the library means to us. */
/** `authentication`: the broker refused the SASL credentials at connect. */
export type DriverErrorKind = 'too-large' | 'unknown-topic' | 'not-authorized' | 'authentication' | 'other';

export interface KafkaDriver {
  admin(): DriverAdmin;
  producer(options: KafkaProducerOptions): DriverProducer;
  consumer(options: DriverConsumerOptions): DriverConsumer;
  errorKind(error: unknown): DriverErrorKind;
  /** The error as one line, with what the library nests inside it (the broker's reasons). */
  explain(error: unknown): string;
}

/** Builds a driver on one client library; `driver/create-driver.ts` picks and loads it. */
export type KafkaDriverFactory = (options: KafkaConnectionOptions, logContext: string) => KafkaDriver;
