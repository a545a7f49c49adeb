import type { ProduceRecord } from './driver/kafka-driver.js';

interface Entry {
  record: ProduceRecord;
  size: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Most bytes and records per produce request; Kafka checks a whole record batch against `max.message.bytes`. */
export const MAX_CHUNK_BYTES = 256 * 1024;
export const MAX_CHUNK_RECORDS = 500;
/**
 * Most produce requests in flight carrying one topic (the Java producer's
 * `max.in.flight.requests.per.connection` default). A broker reads one request of a connection at a
 * time and holds an `acks: -1` produce until the in-sync replicas have it: requests sent while one
 * waits queue on the connection, each to wait in turn. Past this limit records wait here instead and
 * go out together in the next request, so a slow leader gets fewer, larger requests, not a backlog.
 */
export const MAX_IN_FLIGHT_PER_TOPIC = 5;

/**
 * Coalesces the records produced during one turn of the event loop into one produce request
 * (per chunk), without waiting for more: a lone request goes out on the next turn, a burst of
 * replies or concurrent calls shares a request. kafkajs has no `linger.ms`; this is the
 * zero-delay equivalent. At most `MAX_IN_FLIGHT_PER_TOPIC` requests carry a topic at once (a
 * request of several topics counts for each); a topic's records beyond that wait until one of its
 * requests completes and then share the next one, as the Java producer's batches do.
 *
 * A chunk fails as a whole, so a failed chunk is split before its records are failed: a chunk of
 * several topics is retried one topic per request (one missing or forbidden topic, e.g. a caller's
 * bad `reply_to`, fails only its own records), and a chunk of one topic is retried one record per
 * request when the error is about size, so only the oversized record fails. A retried record may be
 * written twice when the failed request had partly succeeded (the producer is not idempotent; its
 * own retries behave the same): at least once.
 */
export class ProduceQueue {
  private queue: Entry[] = [];
  private scheduled = false;
  /** Requests in flight per topic. */
  private inFlight = new Map<string, number>();

  constructor(
    private readonly send: (records: ProduceRecord[]) => Promise<void>,
    private readonly isSizeError: (err: unknown) => boolean,
  ) {}

  push(record: ProduceRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, size: sizeOf(record), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Records waiting for the next flush. */
  get length(): number {
    return this.queue.length;
  }

  private flush(): void {
    this.scheduled = false;
    const entries = this.queue;
    this.queue = [];
    let chunk: Entry[] = [];
    /** The topics of `chunk`: a lookup per record, not a scan of the chunk. */
    let chunkTopics = new Set<string>();
    let bytes = 0;
    for (const entry of entries) {
      const topic = entry.record.topic;
      // a topic at its limit keeps its records (in order) for the request after the next completion;
      // one whose last slot the current chunk takes may still add to that chunk
      if (!chunkTopics.has(topic) && (this.inFlight.get(topic) ?? 0) >= MAX_IN_FLIGHT_PER_TOPIC) {
        this.queue.push(entry);
        continue;
      }
      if (chunk.length > 0 && (bytes + entry.size > MAX_CHUNK_BYTES || chunk.length >= MAX_CHUNK_RECORDS)) {
        this.dispatch(chunk, chunkTopics);
        chunk = [];
        chunkTopics = new Set();
        bytes = 0;
        if ((this.inFlight.get(topic) ?? 0) >= MAX_IN_FLIGHT_PER_TOPIC) {
          this.queue.push(entry);
          continue;
        }
      }
      chunk.push(entry);
      chunkTopics.add(topic);
      bytes += entry.size;
    }
    if (chunk.length > 0) this.dispatch(chunk, chunkTopics);
  }

  /** Sends a chunk holding a slot of each of its topics until it completes, then flushes what waited. */
  private dispatch(chunk: Entry[], topics: Set<string>): void {
    for (const t of topics) this.inFlight.set(t, (this.inFlight.get(t) ?? 0) + 1);
    void this.sendChunk(chunk).finally(() => {
      for (const t of topics) {
        const n = this.inFlight.get(t)! - 1;
        if (n === 0) this.inFlight.delete(t);
        else this.inFlight.set(t, n);
      }
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async sendChunk(chunk: Entry[]): Promise<void> {
    try {
      await this.send(chunk.map((e) => e.record));
      for (const e of chunk) e.resolve();
    } catch (err) {
      const byTopic = new Map<string, Entry[]>();
      for (const e of chunk) {
        const entries = byTopic.get(e.record.topic);
        if (entries) entries.push(e);
        else byTopic.set(e.record.topic, [e]);
      }
      if (byTopic.size > 1) {
        await Promise.all([...byTopic.values()].map((entries) => this.sendChunk(entries)));
        return;
      }
      if (chunk.length > 1 && this.isSizeError(err)) {
        await Promise.all(chunk.map((e) => this.sendChunk([e])));
        return;
      }
      for (const e of chunk) e.reject(err);
    }
  }
}

function sizeOf(record: ProduceRecord): number {
  let size = 64 + (record.value?.byteLength ?? 0) + (record.key?.length ?? 0);
  for (const name in record.headers) size += name.length + record.headers[name]!.length + 8;
  return size;
}
