import { nestInboundReply } from '../core/nest-envelope.js';
import { type HeaderMap, Headers, type InboundReply } from '../core/wire.js';
import { NestKafkaHeaders } from './kafka-headers.js';

/**
 * `protocol: 'nest'` on Kafka: request headers an unchanged Nest `ServerKafka` answers, and its replies
 * read back. No `kafka_replyPartition`: every client instance reads every partition of the reply topic.
 */
export function nestKafkaRequestHeaders(
  headers: HeaderMap,
  contentType: string,
  correlationId: string,
  replyTopic: string,
): HeaderMap {
  return {
    ...headers,
    [Headers.contentType]: contentType,
    [NestKafkaHeaders.correlationId]: correlationId,
    [NestKafkaHeaders.replyTopic]: replyTopic,
  };
}

/** A `ServerKafka` reply: `kafka_nest-err` (JSON or text), `kafka_nest-is-disposed` on the last one, a null value at a stream's end. */
export function readNestKafkaReply(
  headers: HeaderMap,
  value: Uint8Array | null,
): { correlationId?: string; reply: InboundReply } {
  const errText = headers[NestKafkaHeaders.error];
  return {
    correlationId: headers[NestKafkaHeaders.correlationId],
    reply: nestInboundReply(
      errText === undefined ? undefined : parseOrText(errText),
      value === null ? undefined : { body: value },
      headers[NestKafkaHeaders.isDisposed] !== undefined,
    ),
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
