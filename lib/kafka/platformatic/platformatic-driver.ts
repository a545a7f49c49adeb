/**
 * `KafkaDriver` on `@platformatic/kafka`. Everything platformatic-specific lives in this folder.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  Admin,
  ConfigResourceTypes,
  ListOffsetTimestamps,
  Producer,
  type BaseOptions,
} from '@platformatic/kafka';
import { describe } from '../../core/describe.js';
import { toBuffer } from '../../core/bytes.js';
import type {
  DriverAdmin,
  DriverConsumer,
  DriverConsumerOptions,
  DriverErrorKind,
  DriverProducer,
  GroupDescription,
  KafkaDriver,
  ProduceRecord,
  TopicSpec,
} from '../driver/kafka-driver.js';
import {
  DEFAULT_KAFKA_CLIENT_ID,
  DEFAULT_KAFKA_RETRY,
  type KafkaConnectionOptions,
  type KafkaProducerOptions,
} from '../kafka-rpc.options.js';
import { PlatformaticConsumer } from './platformatic-consumer.js';
import { errorIds, isUnknownTopic, protocolFailures } from './platformatic-errors.js';

/** How long `createTopics` waits for every new partition to have a leader. */
const LEADER_WAIT_MS = 10_000;
const LEADER_POLL_MS = 50;

export function createPlatformaticDriver(options: KafkaConnectionOptions, logContext: string): KafkaDriver {
  return new PlatformaticDriver(options, logContext);
}

/** The client options every platformatic client (admin, producer, consumer) shares. */
export type ClientOptions = BaseOptions;

class PlatformaticDriver implements KafkaDriver {
  private readonly base: ClientOptions;
  private readonly retry: { retries: number; initialRetryTime: number; maxRetryTime: number };

  constructor(options: KafkaConnectionOptions, _logContext: string) {
    const retry = (this.retry = { ...DEFAULT_KAFKA_RETRY, ...options.retry });
    const ssl = options.ssl;
    this.base = {
      clientId: options.clientId || DEFAULT_KAFKA_CLIENT_ID,
      bootstrapBrokers: options.brokers,
      ...(ssl ? { tls: ssl === true ? {} : ssl } : {}),
      ...(options.sasl
        ? {
            sasl: {
              mechanism: options.sasl.mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
              username: options.sasl.username,
              password: options.sasl.password,
            },
          }
        : {}),
      ...(options.connectionTimeout !== undefined ? { connectTimeout: options.connectionTimeout } : {}),
      ...(options.requestTimeout !== undefined ? { requestTimeout: options.requestTimeout } : {}),
      retries: retry.retries,
      // Exponential backoff like kafkajs's, within the same bounds.
      retryDelay: (_client, _op, attempt) =>
        Math.min(retry.maxRetryTime, retry.initialRetryTime * 2 ** Math.max(0, attempt - 1)),
      autocreateTopics: false,
    };
  }

  admin(): DriverAdmin {
    return new PlatformaticAdmin(() => new Admin(this.base));
  }

  producer(options: KafkaProducerOptions): DriverProducer {
    return new PlatformaticProducer(this.base, options);
  }

  consumer(options: DriverConsumerOptions): DriverConsumer {
    return new PlatformaticConsumer(this.base, options, this.retry.initialRetryTime, this.retry.maxRetryTime);
  }

  errorKind(error: unknown): DriverErrorKind {
    if (isUnknownTopic(error)) return 'unknown-topic';
    for (const id of errorIds(error)) {
      if (id === 'MESSAGE_TOO_LARGE' || id === 'RECORD_LIST_TOO_LARGE') return 'too-large';
      if (id.endsWith('_AUTHORIZATION_FAILED') || id === 'POLICY_VIOLATION') return 'not-authorized';
    }
    return 'other';
  }

  explain(error: unknown): string {
    // the library aggregates the failed attempts of a retried operation and per-topic failures
    const inner = (error as { errors?: unknown } | null | undefined)?.errors;
    if (!Array.isArray(inner) || inner.length === 0) return describe(error);
    const reasons = [...new Set(inner.map((e: unknown) => describe(e)))];
    return `${describe(error)}: ${reasons.join('; ')}`;
  }
}

class PlatformaticAdmin implements DriverAdmin {
  private admin?: Admin;

  constructor(private readonly create: () => Admin) {}

  private get client(): Admin {
    if (!this.admin) throw new Error('The admin client is not connected');
    return this.admin;
  }

  async connect(): Promise<void> {
    this.admin ??= this.create();
    // The library connects lazily: ask for the cluster once, so connect() fails like kafkajs's does.
    await this.admin.metadata({ topics: [] });
  }

  async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close();
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    // Only the topics that exist: asking for a missing one fails the whole metadata request.
    const existing = new Set(await this.client.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return counts;
    const meta = await this.client.metadata({ topics: present, forceUpdate: true });
    for (const topic of present) {
      const found = meta.topics.get(topic);
      if (found) counts.set(topic, found.partitionsCount);
    }
    return counts;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    try {
      await this.client.createTopics({
        topics: topics.map((t) => ({
          topic: t.topic,
          partitions: t.numPartitions,
          replicas: t.replicationFactor,
        })),
      });
    } catch (err) {
      // Another instance created it meanwhile.
      const ids = errorIds(err);
      if (!(ids.length > 0 && ids.every((id) => id === 'TOPIC_ALREADY_EXISTS'))) {
        // The library names a failed topic by its index in the request: name it.
        const reasons = protocolFailures(err).map(({ path, reason }) => {
          const index = /\/topics\/(\d+)/.exec(path ?? '')?.[1];
          const topic = index !== undefined ? topics[Number(index)]?.topic : undefined;
          return topic !== undefined ? `${topic}: ${reason}` : reason;
        });
        throw new Error(`${describe(err)}${reasons.length ? `: ${reasons.join('; ')}` : ''}`, { cause: err });
      }
    }
    await this.leadersOf(topics.map((t) => t.topic));
  }

  /** Waits until every partition of the topics has a leader, as kafkajs's `waitForLeaders` does. */
  private async leadersOf(topics: string[]): Promise<void> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      try {
        const meta = await this.client.metadata({ topics, forceUpdate: true });
        const ready = topics.every((topic) => {
          const t = meta.topics.get(topic);
          return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch (err) {
        if (!isUnknownTopic(err) && !errorIds(err).includes('LEADER_NOT_AVAILABLE')) throw err;
      }
      if (Date.now() > deadline) throw new Error(`No leader for every partition of ${topics.join(', ')}`);
      await delay(LEADER_POLL_MS);
    }
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const meta = await this.client.metadata({ topics: [topic], forceUpdate: true });
    const count = meta.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, i) => i);
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const partitions = await this.partitionsOf(topic);
    const [listed] = await this.client.listOffsets({
      topics: [
        {
          name: topic,
          partitions: partitions.map((p) => ({ partitionIndex: p, timestamp: ListOffsetTimestamps.LATEST })),
        },
      ],
    });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, String(p.offset)]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string | undefined>> {
    const partitions = await this.partitionsOf(topic);
    const [group] = await this.client.listConsumerGroupOffsets({
      groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }],
    });
    const found = group?.topics.find((t) => t.name === topic);
    return new Map(
      (found?.partitions ?? []).map((p) => [
        p.partitionIndex,
        p.committedOffset >= 0n ? String(p.committedOffset) : undefined,
      ]),
    );
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const groups = await this.client.describeGroups({ groups: [groupId] });
    const group = groups.get(groupId);
    // Another protocol type (a Connect worker, a share group) has no consumer subscriptions to compare.
    if (!group || group.protocolType !== 'consumer') return { stable: true, members: [] };
    return {
      stable: group.state === 'Stable' || group.state === 'STABLE',
      members: [...group.members.values()].map((m) => {
        const topics = m.metadata?.topics;
        return {
          memberId: m.id,
          clientId: m.clientId,
          host: m.clientHost,
          topics: Array.isArray(topics) && topics.length > 0 ? [...topics] : undefined,
        };
      }),
    };
  }

  async topicConfig(topic: string, name: string): Promise<string | undefined> {
    const [resource] = await this.client.describeConfigs({
      resources: [
        { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: [name] },
      ],
      includeSynonyms: false,
    });
    return resource?.configs.find((c) => c.name === name)?.value ?? undefined;
  }
}

class PlatformaticProducer implements DriverProducer {
  private producer?: Producer;

  constructor(
    private readonly base: ClientOptions,
    private readonly options: KafkaProducerOptions,
  ) {}

  private get client(): Producer {
    if (!this.producer) throw new Error('The producer is not connected');
    return this.producer;
  }

  async connect(): Promise<void> {
    this.producer ??= new Producer({
      ...this.base,
      idempotent: false,
      autocreateTopics: false,
      // the library sends its `timeout` as the produce request's ack timeout
      ...(this.options.ackTimeout !== undefined ? { timeout: this.options.ackTimeout } : {}),
    });
    await this.producer.metadata({ topics: [] });
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close();
  }

  async send(records: ProduceRecord[]): Promise<void> {
    await this.client.send({
      messages: records.map((r) => ({
        topic: r.topic,
        ...(r.value !== null ? { value: toBuffer(r.value) } : {}),
        ...(r.key !== undefined
          ? { key: typeof r.key === 'string' ? Buffer.from(r.key) : toBuffer(r.key) }
          : {}),
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
        headers: new Map(
          Object.keys(r.headers).map((k) => [
            Buffer.from(k),
            r.headerBytes?.[k] ?? Buffer.from(r.headers[k]!),
          ]),
        ),
      })),
      acks: this.options.acks ?? -1,
    });
  }
}
