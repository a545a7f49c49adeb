import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { RpcClientOptions, RpcServerOptions } from '../core/options.js';

/**
 * The Kafka client library behind the transport: `kafkajs` (Node.js >= 20) or `@platformatic/kafka`
 * (`platformatic`, Node.js >= 22.22 or >= 24.6). Only the selected one is loaded, so only it needs installing.
 */
export type KafkaDriverName = 'kafkajs' | 'platformatic';

/** How to reach the cluster. Passed to the Kafka client library the `driver` option selects. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id reported to the brokers; also the default consumer group and reply topic stem. Default `DEFAULT_KAFKA_CLIENT_ID`. */
  clientId?: string;
  ssl?: boolean | TlsOptions;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Milliseconds to open a TCP connection. Default 1 000 (kafkajs). */
  connectionTimeout?: number;
  /** Milliseconds to wait for a broker response. Default 30 000 (kafkajs). */
  requestTimeout?: number;
  /** Reconnect / retry backoff. Default `DEFAULT_KAFKA_RETRY`. */
  retry?: { retries?: number; initialRetryTime?: number; maxRetryTime?: number };
  /** Library log level, routed to Nest's Logger. Default `warn`. */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
}

/** Topics this package creates when they are missing. */
export interface KafkaTopicOptions {
  /** Create missing topics (request topics on a server, the reply topic on a client). Default `true`. */
  create?: boolean;
  /** Partitions of a created topic. Default `DEFAULT_KAFKA_REQUEST_PARTITIONS` (server) / `DEFAULT_KAFKA_REPLY_PARTITIONS` (client). */
  numPartitions?: number;
  /** Replication factor of a created topic; `-1` = the broker's `default.replication.factor`. Default `-1`. */
  replicationFactor?: number;
}

export interface KafkaProducerOptions {
  /** `-1` (all in-sync replicas), `1` (leader) or `0`. Default `-1`. */
  acks?: -1 | 0 | 1;
  /** Milliseconds the broker may wait for `acks`. Default 30 000. */
  ackTimeout?: number;
}

/** A consumer's group timings and fetch sizes; `lib/kafka/consumer-options.ts` fills in the defaults for both sides. */
export interface KafkaConsumerTuning {
  /** Milliseconds before a silent instance is dropped from the group and its partitions move. Default `DEFAULT_KAFKA_SESSION_TIMEOUT`. */
  sessionTimeout?: number;
  /** Default `DEFAULT_KAFKA_HEARTBEAT_INTERVAL`. */
  heartbeatInterval?: number;
  /** Milliseconds the group waits for members to rejoin during a rebalance. Default: the client library's (60 000 on kafkajs, 102 000 on `@platformatic/kafka`). */
  rebalanceTimeout?: number;
  /** Longest fetch wait when no record is waiting. Default `DEFAULT_KAFKA_SERVER_MAX_WAIT` (server) / `DEFAULT_KAFKA_CLIENT_MAX_WAIT` (client). */
  maxWaitTimeInMs?: number;
  /** Bytes fetched per partition and request at most. Default `DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION`. */
  maxBytesPerPartition?: number;
}

export interface KafkaRpcServerOptions extends RpcServerOptions {
  client: KafkaConnectionOptions;
  /** The Kafka client library. Default `DEFAULT_KAFKA_DRIVER`. */
  driver?: KafkaDriverName;
  consumer?: KafkaConsumerTuning & {
    /** The service's consumer group: instances sharing it split the partitions. Default: the client id. */
    groupId?: string;
    /**
     * Join a group whose other members subscribe to other topics (a rolling deploy that adds or
     * removes handlers) with a warning, instead of failing `listen()` with `RpcGroupConflictError`.
     * Default `DEFAULT_KAFKA_ALLOW_MIXED_SUBSCRIPTIONS`.
     */
    allowMixedSubscriptions?: boolean;
  };
  producer?: KafkaProducerOptions;
  /** Request topics of the registered patterns. */
  topics?: KafkaTopicOptions;
  /**
   * Requests per partition taken but not yet committable (waiting for a handler slot, running, or
   * finished behind a slower earlier one). Past it the partition is paused until the oldest finishes.
   * Over all partitions, `maxConcurrency + maxQueued` requests held pause them too.
   * Default: `DEFAULT_KAFKA_IN_FLIGHT_FACTOR` × `maxConcurrency`.
   */
  maxInFlightPerPartition?: number;
  /**
   * Extra attempts for an event whose handler failed: it is produced again to its partition with the
   * `rpc-retry-count` header raised, at most this many times. Default `DEFAULT_KAFKA_EVENT_RETRIES` (0).
   */
  eventRetries?: number;
  /**
   * Topic a failed event goes to once its retries are used up, with `rpc-retry-count` = its failures
   * (created like the request topics when missing). Default: none, the event is logged and dropped.
   */
  deadLetterTopic?: string;
}

export interface KafkaRpcClientOptions extends RpcClientOptions {
  client: KafkaConnectionOptions;
  /** The Kafka client library. Default `DEFAULT_KAFKA_DRIVER`. */
  driver?: KafkaDriverName;
  /** The persistent reply topic shared by every instance of this client service. Default `<clientId>.replies`. */
  replyTopic?: string;
  /** The reply topic, when it is created. */
  topics?: KafkaTopicOptions;
  /** The reply consumer (one consumer group of its own per client instance). */
  consumer?: Pick<KafkaConsumerTuning, 'maxWaitTimeInMs' | 'sessionTimeout' | 'heartbeatInterval'>;
  producer?: KafkaProducerOptions;
}

/** kafkajs while the package supports Node.js 20, which `@platformatic/kafka` does not. */
export const DEFAULT_KAFKA_DRIVER: KafkaDriverName = 'kafkajs';
export const DEFAULT_KAFKA_CLIENT_ID = 'nestjs-broker-rpc';
/** Suffix of the default reply topic: `<clientId>.replies`. */
export const DEFAULT_KAFKA_REPLY_SUFFIX = '.replies';
/** Partitions of a request topic the server creates. */
export const DEFAULT_KAFKA_REQUEST_PARTITIONS = 3;
/** Partitions of a reply topic the client creates: every instance reads them all, so one is enough. */
export const DEFAULT_KAFKA_REPLY_PARTITIONS = 1;
/** `maxInFlightPerPartition` defaults to this many times `maxConcurrency`: a burst queues in memory instead of pausing the partition. */
export const DEFAULT_KAFKA_IN_FLIGHT_FACTOR = 4;
/** Extra attempts of a failed event: none, it is dead-lettered (with `deadLetterTopic`) or dropped at once. */
export const DEFAULT_KAFKA_EVENT_RETRIES = 0;
export const DEFAULT_KAFKA_SESSION_TIMEOUT = 10_000;
export const DEFAULT_KAFKA_HEARTBEAT_INTERVAL = 1_000;
/** The server's fetch long-poll. It returns as soon as a request arrives; this bounds how late a resumed partition is fetched. */
export const DEFAULT_KAFKA_SERVER_MAX_WAIT = 100;
/** The reply consumer's fetch long-poll. */
export const DEFAULT_KAFKA_CLIENT_MAX_WAIT = 100;
/** Bytes fetched per partition and request: one MiB, kafkajs's own default, so both drivers fetch alike. */
export const DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION = 1_048_576;
/** `listen()` refuses a consumer group whose members subscribe to different topics. */
export const DEFAULT_KAFKA_ALLOW_MIXED_SUBSCRIPTIONS = false;
/** Longest wait for a consumer's first group join in `connect()` / `listen()`. */
export const DEFAULT_KAFKA_JOIN_TIMEOUT = 60_000;
/** Backoff for reconnects and retried requests: short, so a restarted broker is found again within seconds. */
export const DEFAULT_KAFKA_RETRY = Object.freeze({ retries: 10, initialRetryTime: 100, maxRetryTime: 2_000 });

export function clientIdOf(options: { client: KafkaConnectionOptions }): string {
  return options.client?.clientId || DEFAULT_KAFKA_CLIENT_ID;
}
