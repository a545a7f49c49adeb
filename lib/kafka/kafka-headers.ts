import { CONTENT_TYPE_JSON } from '../core/codec.js';
import { type HeaderMap, Headers } from '../core/wire.js';

/** Spring Kafka / Nest `ClientKafka` request-reply headers (string values). */
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
  /** `nest`: the request came with `kafka_*` headers (Nest `ClientKafka`, Spring); the reply uses them too. */
  style: 'native' | 'nest';
  /** Nest style: the partition the caller reads its replies from. */
  partition?: number;
}

/** Reads the reply route of a request: our (FastStream's) headers first, then Nest/Spring's. */
export function replyRouteOf(headers: HeaderMap): ReplyRoute {
  const replyTo = headers[Headers.replyTo];
  if (replyTo) return { style: 'native', replyTo, correlationId: headers[Headers.correlationId] };
  const nestTopic = headers[NestKafkaHeaders.replyTopic];
  const nestId = headers[NestKafkaHeaders.correlationId];
  if (nestTopic && nestId !== undefined) {
    const raw = headers[NestKafkaHeaders.replyPartition];
    const partition = raw !== undefined && raw !== '' ? Number.parseFloat(raw) : undefined;
    return {
      style: 'nest',
      replyTo: nestTopic,
      correlationId: nestId,
      ...(partition !== undefined && Number.isInteger(partition) && partition >= 0 ? { partition } : {}),
    };
  }
  return { style: 'native', correlationId: headers[Headers.correlationId] ?? nestId };
}

/** Headers of a reply in the request's dialect. The body is returned as it should be sent. */
export function replyHeaders(
  route: ReplyRoute,
  reply: { headers: HeaderMap; contentType: string; correlationId?: string; body: Uint8Array },
): { headers: HeaderMap; value: Uint8Array | null } {
  const headers: HeaderMap = { ...reply.headers, [Headers.contentType]: reply.contentType };
  if (route.style === 'native') {
    if (reply.correlationId !== undefined) headers[Headers.correlationId] = reply.correlationId;
    return { headers, value: reply.body };
  }
  if (reply.correlationId !== undefined) headers[NestKafkaHeaders.correlationId] = reply.correlationId;
  if (reply.headers[Headers.error] !== undefined) {
    headers[NestKafkaHeaders.error] = Buffer.from(reply.body).toString('utf8') || 'Internal server error';
    return { headers, value: null };
  }
  const marker = reply.headers[Headers.stream];
  if (marker === 'end') {
    headers[NestKafkaHeaders.isDisposed] = '1';
    return { headers, value: null };
  }
  if (marker === undefined) headers[NestKafkaHeaders.isDisposed] = '1';
  // An undefined result: Nest's ServerKafka sends a null value, which its client reads as `null`.
  const none = reply.body.length === 0 && reply.contentType === CONTENT_TYPE_JSON;
  return { headers, value: none ? null : reply.body };
}
