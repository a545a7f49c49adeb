import { Headers, type HeaderMap } from '../core/wire.js';
import type { KafkaRecord, ProduceRecord } from './driver/kafka-driver.js';

/**
 * What becomes of a Kafka event whose handler failed. Kafka counts no deliveries, so the count rides in
 * the `rpc-retry-count` header: while it is below `retries` the event is produced again to its own
 * partition with the count raised; then it goes to `deadLetterTopic` (if set) with the final count;
 * otherwise it is dropped (logged). The original offset is committed in every case.
 */
export function failedEventRecord(
  record: KafkaRecord,
  retries: number,
  deadLetterTopic: string | undefined,
): { action: 'retry' | 'dead-letter'; record: ProduceRecord } | { action: 'drop'; failures: number } {
  const failures = retryCountOf(record.headers) + 1;
  const headers: HeaderMap = { ...record.headers, [Headers.retryCount]: String(failures) };
  const base = { value: record.value, headers, ...(record.key !== null ? { key: record.key } : {}) };
  if (failures <= retries)
    return { action: 'retry', record: { ...base, topic: record.topic, partition: record.partition } };
  if (deadLetterTopic !== undefined)
    return { action: 'dead-letter', record: { ...base, topic: deadLetterTopic } };
  return { action: 'drop', failures };
}

/** Failed attempts recorded on an event so far; 0 without the header (or with a value that is no count). */
export function retryCountOf(headers: HeaderMap): number {
  const raw = headers[Headers.retryCount];
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
