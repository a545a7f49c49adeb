/**
 * Wire protocol v1: names and message shapes shared by every broker adapter.
 * See docs/wire-protocol.md. Adapters translate these to broker-native fields.
 */
export const WIRE_VERSION = 1;

export const Headers = {
  /** MIME type of the body. */
  contentType: 'content-type',
  /** Correlation id, where the broker has no native field for it (FastStream's name). */
  correlationId: 'correlation_id',
  /** Reply address, where the broker has no native field for it (FastStream's name). */
  replyTo: 'reply_to',
  /** Present on error replies; its value is the error kind (`RpcRemoteErrorKind`). The body is the error payload. */
  error: 'rpc-error',
  /** Stream marker on replies: `next` = a value, more follow; `end` = no value, the stream is complete. Absent = final value. */
  stream: 'rpc-stream',
  /** On a request: `event` asks the server to publish each result as a plain event to the reply address. */
  replyMode: 'rpc-reply-mode',
  /** On stream replies: who answers (one id per delivery target: NATS subscription, RabbitMQ queue, Kafka group). */
  responder: 'rpc-responder',
  /** On stream replies: one id per handling of the request; a redelivery is a new attempt. */
  attempt: 'rpc-attempt',
  /** On stream replies: the frame's position in its attempt, a decimal from 0. */
  seq: 'rpc-seq',
  /** On stream `next` replies: where the caller may send a cancel message (absent: the server takes none). */
  cancelTo: 'rpc-cancel-to',
  /** On an event retried or dead-lettered by a Kafka server: how many times its handler failed so far. */
  retryCount: 'rpc-retry-count',
  /** On a request: when its caller stops waiting for the first reply, in epoch milliseconds (decimal). Absent = no deadline. */
  deadline: 'rpc-deadline',
} as const;

export type StreamMarker = 'next' | 'end';

export type HeaderMap = Record<string, string>;

/** A request or event as the server core sees it, after the adapter read it off the broker. */
export interface InboundMessage {
  /** The concrete destination it arrived on (subject, topic, routing key). */
  destination: string;
  /** The handler key it was delivered for (may be a wildcard subscription). */
  pattern: string;
  body: Uint8Array;
  headers: HeaderMap;
  contentType?: string;
  correlationId?: string;
  replyTo?: string;
  /**
   * Who answers, as the broker delivers: deliveries with the same responder are attempts of one
   * request (a redelivery), different responders are fan-out. Default: the server instance.
   */
  responder?: string;
  /** `nest`: it came in Nest's built-in envelope (`nest-envelope.ts`), and its replies go back in it. */
  envelope?: 'nest';
}

/** A message the core asks an adapter to publish: a request, an event, or a reply. */
export interface OutboundMessage {
  destination: string;
  body: Uint8Array;
  headers: HeaderMap;
  contentType: string;
  correlationId?: string;
  replyTo?: string;
}

/** A reply as the client core sees it. */
export interface InboundReply {
  body: Uint8Array;
  headers: HeaderMap;
  contentType?: string;
}

/**
 * Reply-routing headers of Spring Kafka and Nest's `ClientKafka`, which the Kafka server honours: a
 * handler echoing request headers into its reply must not be able to forward them.
 */
export const FOREIGN_REPLY_HEADERS = [
  'kafka_correlationId',
  'kafka_replyTopic',
  'kafka_replyPartition',
] as const;

/** Wire headers the core owns; user headers with these names are overwritten or left out. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  ...Object.values(Headers),
  ...FOREIGN_REPLY_HEADERS,
]);

/**
 * An empty header map without a prototype: a header named `__proto__` (or `constructor`) from the
 * wire is then an ordinary entry, never the map's prototype.
 */
export function headerMap(): HeaderMap {
  return Object.create(null) as HeaderMap;
}

/** A copy of application headers without the wire headers the core owns (own properties only). */
export function userHeaders(headers: HeaderMap | undefined): HeaderMap {
  const out = headerMap();
  if (headers)
    for (const name of Object.keys(headers)) if (!RESERVED_HEADERS.has(name)) out[name] = headers[name]!;
  return out;
}
