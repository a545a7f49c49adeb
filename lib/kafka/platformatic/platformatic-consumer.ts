/**
 * `DriverConsumer` on `@platformatic/kafka`: the library's group membership (join, heartbeats,
 * rejoin) with a fetch loop of our own over its public `fetch()`, because its message stream has
 * no per-partition pause, seek or "take only the first n records of a batch".
 */
import {
  Consumer,
  IS_CONTROL,
  ListOffsetTimestamps,
  type ConsumerGroupJoinPayload,
  type fetchV17,
} from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { type HeaderMap, headerMap } from '../../core/wire.js';
import { untilFirstJoin } from '../driver/first-join.js';
import type {
  Assignment,
  BatchHandler,
  ConsumerListener,
  DriverConsumer,
  DriverConsumerOptions,
  HeaderBytes,
  KafkaRecord,
  TopicPartitionOffset,
} from '../driver/kafka-driver.js';
import type { ClientOptions } from './platformatic-driver.js';
import { errorIds } from './platformatic-errors.js';

type FetchRequestTopic = fetchV17.FetchRequestTopic;
type FetchResponse = fetchV17.FetchResponse;

/** kafkajs's default, so both drivers fetch alike. */
const MAX_BYTES = 10 * 1024 * 1024;

/** Errors after which the partition's leader must be looked up again. */
const STALE_METADATA = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
]);

interface Wanted {
  topic: string;
  partition: number;
  offset: bigint;
  /** `versions` of the partition when the fetch was sent. */
  version: number;
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

/** Exported for unit tests only. */
export class PlatformaticConsumer implements DriverConsumer {
  private consumer?: Consumer;
  private topics: string[] = [];
  private fromBeginning = false;
  private closed = false;
  private restartTimer?: NodeJS.Timeout;
  private handler?: BatchHandler;
  private listener: ConsumerListener = {};
  /** Crashes since the last successful join: the restart backoff grows with them. */
  private failures = 0;
  /** Bumped at every join: records fetched for an earlier generation are dropped. */
  private generation = 0;
  private assignment: Assignment = {};
  /** Next offset to fetch per assigned partition; absent while its start is being looked up. */
  private readonly positions = new Map<string, bigint>();
  /** Bumped when a partition is sought: a fetch sent before brings records from the old position. */
  private readonly versions = new Map<string, number>();
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Set<string>();
  private refreshMetadata = false;
  private wakeUp?: () => void;

  constructor(
    private readonly base: ClientOptions,
    private readonly options: DriverConsumerOptions,
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
    const o = this.options;
    const consumer = new Consumer({
      ...this.base,
      groupId: typeof o.groupId === 'function' ? o.groupId() : o.groupId,
      sessionTimeout: o.sessionTimeout,
      heartbeatInterval: o.heartbeatInterval,
      ...(o.rebalanceTimeout !== undefined ? { rebalanceTimeout: o.rebalanceTimeout } : {}),
      autocommit: false,
    });
    this.consumer = consumer;
    this.generation++;
    consumer.on('consumer:group:join', (payload) => this.onJoin(consumer, payload));
    consumer.on('consumer:group:rebalance', () => {
      if (this.consumer === consumer) this.listener.rebalancing?.();
    });
    // A failed rejoin after a heartbeat error: the library stops there, so we start over.
    consumer.on('error', (err: Error) => this.crash(consumer, err));
    consumer.topics.trackAll(...this.topics);
    try {
      await consumer.joinGroup({});
    } catch (err) {
      if (this.consumer !== consumer || this.closed) return;
      throw err;
    }
    if (this.consumer !== consumer || this.closed) {
      await close(consumer);
      return;
    }
    rejoinOnlyByHeartbeat(consumer);
    void this.loop(consumer);
  }

  /** The library calls this synchronously at every (re)join, before the fetch loop sees the new assignment. */
  private onJoin(consumer: Consumer, payload: ConsumerGroupJoinPayload): void {
    if (this.consumer !== consumer || this.closed) return;
    this.failures = 0;
    const generation = ++this.generation;
    const assignment: Assignment = {};
    for (const a of payload.assignments ?? []) assignment[a.topic] = [...a.partitions];
    this.assignment = assignment;
    this.positions.clear();
    this.listener.assigned?.(assignment);
    this.positionUnsought(consumer, generation).catch((err: Error) => this.crash(consumer, err));
    this.wake();
  }

  /** Partitions `assigned` did not seek start at the group's committed offset, else at the earliest or latest. */
  private async positionUnsought(consumer: Consumer, generation: number): Promise<void> {
    const unsought = (): Array<[string, number[]]> =>
      Object.entries(this.assignment)
        .map(([topic, ps]): [string, number[]] => [
          topic,
          ps.filter((p) => !this.positions.has(keyOf(topic, p))),
        ])
        .filter(([, ps]) => ps.length > 0);
    const current = () => this.consumer === consumer && this.generation === generation && !this.closed;
    let missing = unsought();
    if (missing.length === 0) return;
    const committed = await consumer.listCommittedOffsets({
      topics: missing.map(([topic, partitions]) => ({ topic, partitions })),
    });
    if (!current()) return;
    for (const [topic, partitions] of missing) {
      for (const p of partitions) {
        const offset = committed.get(topic)?.[p];
        if (offset !== undefined && offset >= 0n && !this.positions.has(keyOf(topic, p)))
          this.positions.set(keyOf(topic, p), offset);
      }
    }
    missing = unsought();
    if (missing.length > 0) {
      const ends = await consumer.listOffsets({
        topics: missing.map(([topic]) => topic),
        partitions: Object.fromEntries(missing),
        timestamp: this.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
      });
      if (!current()) return;
      for (const [topic, partitions] of missing) {
        for (const p of partitions) {
          const offset = ends.get(topic)?.[p];
          if (offset !== undefined && !this.positions.has(keyOf(topic, p)))
            this.positions.set(keyOf(topic, p), offset);
        }
      }
    }
    this.wake();
  }

  private async loop(consumer: Consumer): Promise<void> {
    while (this.consumer === consumer && !this.closed) {
      const generation = this.generation;
      const wanted = this.wanted();
      if (wanted.length === 0) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      try {
        const metadata = await consumer.metadata({ topics: this.topics, forceUpdate: this.refreshMetadata });
        this.refreshMetadata = false;
        const byNode = new Map<number, Wanted[]>();
        const names = new Map<string, string>();
        for (const w of wanted) {
          const topic = metadata.topics.get(w.topic);
          const leader = topic?.partitions[w.partition]?.leader;
          if (topic === undefined || leader === undefined || leader < 0) {
            this.refreshMetadata = true;
            continue;
          }
          names.set(topic.id, w.topic);
          let list = byNode.get(leader);
          if (!list) byNode.set(leader, (list = []));
          list.push(w);
        }
        await Promise.all(
          [...byNode].map(async ([node, list]) => {
            const topics = new Map<string, FetchRequestTopic>();
            for (const w of list) {
              const id = metadata.topics.get(w.topic)!.id;
              let t = topics.get(id);
              if (!t) topics.set(id, (t = { topicId: id, partitions: [] }));
              t.partitions.push({
                partition: w.partition,
                fetchOffset: w.offset,
                partitionMaxBytes: this.options.maxBytesPerPartition,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              });
            }
            const response = await consumer.fetch({
              node,
              topics: [...topics.values()],
              maxWaitTime: this.options.maxWaitTimeInMs,
              minBytes: 1,
              maxBytes: MAX_BYTES,
            });
            if (this.consumer === consumer && this.generation === generation)
              this.deliver(response, list, names);
          }),
        );
        if (this.refreshMetadata && byNode.size === 0) await sleep(this.initialRetryTime);
      } catch (err) {
        if (this.consumer !== consumer || this.closed) return;
        const ids = errorIds(err);
        if (ids.includes('OFFSET_OUT_OF_RANGE')) {
          // The position fell out of the log (retention, truncation): start again from the end chosen at subscribe.
          for (const w of wanted) this.positions.delete(keyOf(w.topic, w.partition));
          this.positionUnsought(consumer, this.generation).catch((e: Error) => this.crash(consumer, e));
          continue;
        }
        if (ids.some((id) => STALE_METADATA.has(id))) {
          this.refreshMetadata = true;
          await sleep(this.initialRetryTime);
          continue;
        }
        this.crash(consumer, err as Error);
        return;
      }
    }
  }

  private wanted(): Wanted[] {
    const wanted: Wanted[] = [];
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      if (this.pausedTopics.has(topic)) continue;
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        const offset = this.positions.get(key);
        if (offset === undefined || this.pausedPartitions.has(key)) continue;
        wanted.push({ topic, partition, offset, version: this.versions.get(key) ?? 0 });
      }
    }
    return wanted;
  }

  private deliver(response: FetchResponse, requested: Wanted[], names: Map<string, string>): void {
    const byKey = new Map(requested.map((w) => [keyOf(w.topic, w.partition), w]));
    for (const t of response.responses) {
      const topic = names.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const key = keyOf(topic, p.partitionIndex);
        const w = byKey.get(key);
        // Not asked for (a fetch session's leftover), sought or paused since it was asked for: stale.
        if (!w || (this.versions.get(key) ?? 0) !== w.version || this.positions.get(key) !== w.offset)
          continue;
        if (this.pausedTopics.has(topic) || this.pausedPartitions.has(key)) continue;
        const records: KafkaRecord[] = [];
        let end = w.offset;
        for (const batch of p.records ?? []) {
          const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          if (last + 1n > end) end = last + 1n;
          if (batch.attributes & IS_CONTROL) continue;
          for (const r of batch.records) {
            const offset = batch.firstOffset + BigInt(r.offsetDelta);
            if (offset < w.offset) continue;
            records.push({
              topic,
              partition: p.partitionIndex,
              offset: String(offset),
              key: r.key ?? null,
              value: r.value ?? null,
              ...readHeaders(r.headers),
              timestamp: String(batch.firstTimestamp + r.timestampDelta),
            });
          }
        }
        if (records.length === 0) {
          this.positions.set(key, end);
          continue;
        }
        const taken = this.handler!(topic, p.partitionIndex, records);
        // the handler may have sought this partition itself
        if ((this.versions.get(key) ?? 0) !== w.version || !this.positions.has(key)) continue;
        this.positions.set(key, taken >= records.length ? end : BigInt(records[Math.max(0, taken)]!.offset));
      }
    }
  }

  private crash(consumer: Consumer, err: Error): void {
    if (this.consumer !== consumer || this.closed) return;
    this.consumer = undefined;
    this.wake();
    this.listener.crashed?.(err);
    void close(consumer);
    this.restart(this.failures++);
  }

  private restart(attempt: number): void {
    clearTimeout(this.restartTimer);
    const wait = Math.min(this.maxRetryTime, this.initialRetryTime * 2 ** attempt);
    this.restartTimer = setTimeout(() => {
      if (this.closed) return;
      this.start().catch((err: Error) => {
        const failed = this.consumer;
        if (this.closed) return;
        this.consumer = undefined;
        if (failed) void close(failed);
        this.listener.crashed?.(err);
        this.restart(Math.max(attempt + 1, this.failures++));
      });
    }, wait);
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  seek(topic: string, partition: number, offset: string): void {
    const key = keyOf(topic, partition);
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
    this.positions.set(key, BigInt(offset));
    this.wake();
  }

  pause(topic: string, partitions?: number[]): void {
    if (!partitions) this.pausedTopics.add(topic);
    else for (const p of partitions) this.pausedPartitions.add(keyOf(topic, p));
  }

  resume(topic: string, partitions?: number[]): void {
    if (!partitions) {
      this.pausedTopics.delete(topic);
      for (const key of [...this.pausedPartitions])
        if (key.startsWith(`${topic}:`)) this.pausedPartitions.delete(key);
    } else for (const p of partitions) this.pausedPartitions.delete(keyOf(topic, p));
    this.wake();
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.consumer) throw new Error('The consumer is not running');
    await this.consumer.commit({
      offsets: offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset),
        leaderEpoch: -1,
      })),
    });
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const consumer = this.consumer;
    this.consumer = undefined;
    this.wake();
    if (consumer) await close(consumer);
  }
}

/**
 * @platformatic/kafka (checked against 2.12.1) rejoins the group from inside `commit()` when the
 * broker refuses a commit for a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION), through the
 * consumer's public `joinGroup()`, while its heartbeat is rejoining too: the group leader's second
 * JoinGroup starts yet another rebalance, the commits in flight fail again, and the group does not
 * settle (seen: ten generations in seven seconds while a fourth server joined, with partitions no
 * member fetched for longer than a request's timeout). Here only the heartbeat rejoins: after the
 * first join, `joinGroup()` refuses, so such a commit fails and `CommitScheduler` commits again after
 * the rejoin. Guarded by test/integration/kafka/platformatic-driver.spec.ts.
 */
export function rejoinOnlyByHeartbeat(consumer: Consumer): void {
  const refuse = (_options?: unknown, callback?: (error: Error | null) => void) => {
    const error = new Error('Offset commit refused by a rebalancing group; committed again after the rejoin');
    if (!callback) return Promise.reject(error);
    callback(error);
    return undefined;
  };
  consumer.joinGroup = refuse as Consumer['joinGroup'];
}

/** Leaves the group and closes; when the broker cannot be told (it is down), closes anyway. */
async function close(consumer: Consumer): Promise<void> {
  try {
    await consumer.close();
  } catch {
    await consumer.close(true).catch(() => undefined);
  }
}

/** Record headers to maps without prototype, first value of a repeated key: `__proto__` is a header like any other. */
function readHeaders(headers: Array<[Buffer | null, Buffer | null]>): {
  headers: HeaderMap;
  headerBytes: HeaderBytes;
} {
  const map = headerMap();
  const bytes = Object.create(null) as HeaderBytes;
  for (const [name, value] of headers) {
    if (name === null || value === null) continue;
    const key = name.toString('utf8');
    if (Object.hasOwn(map, key)) continue;
    map[key] = value.toString('utf8');
    bytes[key] = value;
  }
  return { headers: map, headerBytes: bytes };
}
