import { CONTENT_TYPE_JSON } from '../core/codec.js';
import { type HeaderMap, Headers } from '../core/wire.js';
import type { HeaderBytes } from './driver/kafka-driver.js';

/**
 * Spring Kafka / Nest `ClientKafka` request-reply headers. Nest sends text; Spring sends the
 * correlation id as raw bytes (16 of a UUID) and the reply partition as a 4-byte big-endian int.
 */
export const NestKafkaHeaders = {
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  replyPartition: 'kafka_replyPartition',
  /** On a reply: the error, as JSON or text. */
  error: 'kafka_nest-err',
  /** On a reply: the last one of the request. */
  isDisposed: 'kafka_nest-is-disposed',
} as const;

/** Where a request wants its replies, and in which header dialect. */
export interface ReplyRoute {
  replyTo?: string;
  correlationId?: string;
  /** Nest style: the `kafka_correlationId` bytes as received, copied back verbatim (they need not be UTF-8). */
  correlationIdBytes?: Buffer;
  /** `nest`: the request came with `kafka_*` headers (Nest `ClientKafka`, Spring); the reply uses them too. */
  style: 'native' | 'nest';
  /** Nest style: the partition the caller reads its replies from. */
  partition?: number;
}

/**
 * Reads the reply route of a request: our (FastStream's) headers first, then Nest/Spring's.
 * `bytes` holds the undecoded header values, where the driver has them.
 */
export function replyRouteOf(headers: HeaderMap, bytes?: HeaderBytes): ReplyRoute {
  const replyTo = headers[Headers.replyTo];
  if (replyTo) return { style: 'native', replyTo, correlationId: headers[Headers.correlationId] };
  const nestTopic = headers[NestKafkaHeaders.replyTopic];
  const nestId = headers[NestKafkaHeaders.correlationId];
  if (nestTopic && nestId !== undefined) {
    const idBytes = bytes?.[NestKafkaHeaders.correlationId];
    const partition = replyPartitionOf(headers, bytes);
    return {
      style: 'nest',
      replyTo: nestTopic,
      correlationId: nestId,
      ...(idBytes !== undefined ? { correlationIdBytes: idBytes } : {}),
      ...(partition !== undefined ? { partition } : {}),
    };
  }
  return { style: 'native', correlationId: headers[Headers.correlationId] ?? nestId };
}

const DECIMAL = /^[0-9]+$/;

/**
 * `kafka_replyPartition` as decimal text (Nest) or a 4-byte big-endian int (Spring); absent or
 * unreadable: `undefined`, and the reply goes to the partition its correlation id hashes to. No
 * ambiguity: four ASCII digits as an int would be a partition above 800 million.
 */
export function replyPartitionOf(headers: HeaderMap, bytes?: HeaderBytes): number | undefined {
  const raw = bytes?.[NestKafkaHeaders.replyPartition];
  if (raw !== undefined && raw.length === 4 && !DECIMAL.test(raw.toString('latin1'))) {
    const partition = raw.readInt32BE(0);
    return partition >= 0 ? partition : undefined;
  }
  const text = headers[NestKafkaHeaders.replyPartition];
  if (text === undefined || text === '') return undefined;
  const partition = Number.parseFloat(text);
  return Number.isInteger(partition) && partition >= 0 ? partition : undefined;
}

/** Headers of a reply in the request's dialect. The body is returned as it should be sent. */
export function replyHeaders(
  route: ReplyRoute,
  reply: { headers: HeaderMap; contentType: string; correlationId?: string; body: Uint8Array },
): { headers: HeaderMap; headerBytes?: HeaderBytes; value: Uint8Array | null } {
  const headers: HeaderMap = { ...reply.headers, [Headers.contentType]: reply.contentType };
  if (route.style === 'native') {
    if (reply.correlationId !== undefined) headers[Headers.correlationId] = reply.correlationId;
    return { headers, value: reply.body };
  }
  if (reply.correlationId !== undefined) headers[NestKafkaHeaders.correlationId] = reply.correlationId;
  // the caller matches the reply by these exact bytes (Spring: a UUID's 16, not text)
  const headerBytes: HeaderBytes | undefined =
    reply.correlationId !== undefined && route.correlationIdBytes !== undefined
      ? { [NestKafkaHeaders.correlationId]: route.correlationIdBytes }
      : undefined;
  const out = (value: Uint8Array | null) => ({ headers, ...(headerBytes ? { headerBytes } : {}), value });
  if (reply.headers[Headers.error] !== undefined) {
    headers[NestKafkaHeaders.error] = Buffer.from(reply.body).toString('utf8') || 'Internal server error';
    return out(null);
  }
  const marker = reply.headers[Headers.stream];
  if (marker === 'end') {
    headers[NestKafkaHeaders.isDisposed] = '1';
    return out(null);
  }
  if (marker === undefined) headers[NestKafkaHeaders.isDisposed] = '1';
  // An undefined result: Nest's ServerKafka sends a null value, which its client reads as `null`.
  const none = reply.body.length === 0 && reply.contentType === CONTENT_TYPE_JSON;
  return out(none ? null : reply.body);
}
