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

/** Wire headers the core owns; user headers with these names are overwritten. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set(Object.values(Headers));

/** A copy of application headers without the wire headers the core owns. */
export function userHeaders(headers: HeaderMap | undefined): HeaderMap {
  const out: HeaderMap = {};
  if (headers) for (const name in headers) if (!RESERVED_HEADERS.has(name)) out[name] = headers[name]!;
  return out;
}
