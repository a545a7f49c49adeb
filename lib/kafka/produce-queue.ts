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
 * Coalesces the records produced during one turn of the event loop into one produce request
 * (per chunk), without waiting for more: a lone request goes out on the next turn, a burst of
 * replies or concurrent calls shares a request. kafkajs has no `linger.ms`; this is the
 * zero-delay equivalent.
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

  constructor(
    private readonly send: (records: ProduceRecord[]) => Promise<void>,
    private readonly isSizeError: (err: unknown) => boolean,
  ) {}

  push(record: ProduceRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, size: sizeOf(record), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
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
    let bytes = 0;
    for (const entry of entries) {
      if (chunk.length > 0 && (bytes + entry.size > MAX_CHUNK_BYTES || chunk.length >= MAX_CHUNK_RECORDS)) {
        void this.sendChunk(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += entry.size;
    }
    if (chunk.length > 0) void this.sendChunk(chunk);
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
