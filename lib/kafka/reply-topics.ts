import { isLegalTopicName } from './kafka-topics.js';

/** Milliseconds a reply topic found missing (or a partition found beyond its count) is remembered so. */
export const DEFAULT_KAFKA_REPLY_TOPIC_RECHECK = 10_000;
/** Most topics remembered per cache (known, missing); the oldest entry goes first. */
export const MAX_REPLY_TOPICS_CACHED = 10_000;

/** What a metadata lookup found: the topic's partition count, or why it cannot take replies. */
export type TopicLookupResult = number | 'missing' | 'forbidden';

const MISSING = 'the topic does not exist';
const FORBIDDEN = 'this server may not describe the topic';

interface Known {
  partitions: number;
  /** When its partition count was last read. */
  checkedAt: number;
}

/**
 * Checks that a reply can be produced before it joins a produce request, so a request naming a
 * topic that does not exist (or a partition beyond its count) fails alone, at once, instead of
 * failing the shared request and making the producer retry it. Known topics are cached with their
 * partition count; missing ones for `recheckMs`, so a flood of bad requests costs one metadata
 * lookup per topic and interval. A lookup that fails for another reason lets the reply through:
 * the producer then decides, as it would without this check.
 */
export class ReplyTopics {
  private readonly known = new Map<string, Known>();
  private readonly missing = new Map<string, { until: number; reason: string }>();
  private readonly lookups = new Map<string, Promise<TopicLookupResult | undefined>>();

  constructor(
    private readonly lookup: (topic: string) => Promise<TopicLookupResult>,
    private readonly recheckMs = DEFAULT_KAFKA_REPLY_TOPIC_RECHECK,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves `undefined` when the reply can be produced, else why it cannot (for the log). */
  async check(topic: string, partition?: number): Promise<string | undefined> {
    const known = this.known.get(topic);
    if (known && (partition === undefined || partition < known.partitions)) return undefined;
    if (!known) {
      const missing = this.missing.get(topic);
      if (missing && missing.until > this.now()) return missing.reason;
      if (!isLegalTopicName(topic)) return this.remember(topic, 'not a legal topic name');
    } else if (this.now() - known.checkedAt < this.recheckMs) {
      return beyond(partition!, known.partitions);
    }
    // Unknown, or a partition beyond the count read a while ago: partitions may have been added since.
    const found = await this.read(topic);
    if (found === undefined) return known ? beyond(partition!, known.partitions) : undefined;
    if (found === 'missing') return MISSING;
    if (found === 'forbidden') return FORBIDDEN;
    if (partition !== undefined && partition >= found) return beyond(partition, found);
    return undefined;
  }

  /** The topic failed a produce request as unknown (deleted since it was cached): look it up again next time. */
  forget(topic: string): void {
    this.known.delete(topic);
  }

  /** One lookup at a time per topic; concurrent replies to it share the answer. */
  private read(topic: string): Promise<TopicLookupResult | undefined> {
    let pending = this.lookups.get(topic);
    if (!pending) {
      pending = this.lookup(topic).then(
        (found) => {
          if (typeof found === 'number') {
            this.missing.delete(topic);
            bounded(this.known).set(topic, { partitions: found, checkedAt: this.now() });
          } else {
            this.known.delete(topic);
            this.remember(topic, found === 'missing' ? MISSING : FORBIDDEN);
          }
          return found;
        },
        () => undefined,
      );
      pending.finally(() => this.lookups.delete(topic)).catch(() => undefined);
      this.lookups.set(topic, pending);
    }
    return pending;
  }

  private remember(topic: string, reason: string): string {
    this.missing.delete(topic); // re-inserted last: the oldest entry is the first to go
    bounded(this.missing).set(topic, { until: this.now() + this.recheckMs, reason });
    return reason;
  }
}

function beyond(partition: number, partitions: number): string {
  return `partition ${partition} is beyond the topic's ${partitions} partition(s)`;
}

/** The map, with its oldest entry removed when it is full. */
function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= MAX_REPLY_TOPICS_CACHED) map.delete(map.keys().next().value!);
  return map;
}
