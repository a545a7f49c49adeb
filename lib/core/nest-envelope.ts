import { toBuffer } from './bytes.js';
import { CONTENT_TYPE_JSON, decode, encode, type Encoded } from './codec.js';
import type { RpcRemoteErrorKind } from './errors.js';
import { type HeaderMap, Headers, type InboundReply, type OutboundMessage, headerMap } from './wire.js';

/**
 * Nest's built-in NATS and RabbitMQ transports wrap every message in a JSON envelope: requests
 * `{ pattern, data, id }` (events without `id`), replies `{ id, response, err, isDisposed }`. This
 * file translates between that envelope and our wire shapes, for every adapter that speaks it.
 */

/** The text Nest's built-in servers send as `err` when no handler matches. */
export const NEST_NO_HANDLER = 'There is no matching message handler defined in the remote service.';

/** A request or event in Nest's envelope. */
export interface NestRequest {
  pattern: unknown;
  data?: unknown;
  /** Present on requests, absent on events. */
  id?: string;
}

/** A reply in Nest's envelope. */
export interface NestReply {
  id?: string;
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
  status?: string;
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['pattern', 'data', 'id']);
const OPEN_BRACE = 0x7b;
const EMPTY = new Uint8Array(0);

/**
 * The detection rule: a message is Nest's envelope when it has no `content-type` header (our
 * clients always set one, Nest's never do), its body is a JSON object with a `pattern` key, its other
 * keys are only `data` and `id`, and `id`, when present, is a string. Anything else is `undefined`.
 */
export function readNestRequest(body: Uint8Array, contentType: string | undefined): NestRequest | undefined {
  if (contentType !== undefined || body.length < 2 || body[0] !== OPEN_BRACE) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(toBuffer(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('pattern' in value))
    return undefined;
  for (const key of Object.keys(value)) if (!REQUEST_KEYS.has(key)) return undefined;
  const id = (value as NestRequest).id;
  if (id !== undefined && typeof id !== 'string') return undefined;
  return value as NestRequest;
}

/** The envelope's `data` as the body and content type our server core decodes. */
export function nestRequestPayload(request: NestRequest): Encoded {
  return encode(request.data);
}

/** A request (with `id`) or event (without) in Nest's envelope; the payload is decoded from our encoding. */
export function encodeNestRequest(
  pattern: string,
  payload: { body: Uint8Array; contentType: string },
  id?: string,
): Buffer {
  const data = decode(payload.body, payload.contentType);
  const envelope: NestRequest = id === undefined ? { pattern, data } : { pattern, data, id };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/**
 * One of our server's replies as a Nest built-in server would have sent it: a final value
 * `{ id, response, isDisposed: true }`, a stream value `{ id, response }`, the end of a stream
 * `{ id, isDisposed: true }`, an error `{ id, err, isDisposed: true }` (the `RpcException` payload, as
 * Nest's exception filter makes it), no handler `{ id, status: 'error', err: NEST_NO_HANDLER }`.
 */
export function encodeNestReply(reply: OutboundMessage, id: string | undefined): Buffer {
  const kind = reply.headers[Headers.error];
  let envelope: NestReply;
  if (kind === 'no-handler') envelope = { id, status: 'error', err: NEST_NO_HANDLER };
  else if (kind !== undefined) envelope = { id, err: decodeOr(reply, kind), isDisposed: true };
  else if (reply.headers[Headers.stream] === 'end') envelope = { id, isDisposed: true };
  else if (reply.headers[Headers.stream] === 'next') envelope = { id, response: decodeOr(reply) };
  else envelope = { id, response: decodeOr(reply), isDisposed: true };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/**
 * A Nest built-in server's reply as our client core reads replies (error, stream value, end, final
 * value); `id` is the envelope's, for the adapter to check against its request. A body that is not
 * an envelope is a final value, as Nest's own client reads it.
 */
export function readNestReply(body: Uint8Array): { id?: unknown; reply: InboundReply } {
  let value: unknown;
  try {
    value = body.length === 0 ? undefined : JSON.parse(toBuffer(body).toString('utf8'));
  } catch {
    return { reply: { body, headers: headerMap() } };
  }
  if (!isEnvelope(value)) return { reply: asReply(encode(value), headerMap()) };
  const { id, err, response, isDisposed } = value;
  return {
    id,
    reply: nestInboundReply(err, response === undefined ? undefined : encode(response), isDisposed),
  };
}

/**
 * The parts of a Nest built-in server's reply, from whatever carries them (an envelope, Kafka's
 * `kafka_nest-*` headers), as our client core reads replies: error, stream value, end, final value.
 */
export function nestInboundReply(
  err: unknown,
  response: { body: Uint8Array; contentType?: string } | undefined,
  isDisposed: boolean | undefined,
): InboundReply {
  const headers = headerMap();
  // Nest's client fails on any truthy `err`, whatever else the reply holds.
  if (err) {
    headers[Headers.error] = errorKind(err);
    return asReply(encode(err), headers);
  }
  if (isDisposed && response === undefined) {
    headers[Headers.stream] = 'end';
    return { body: EMPTY, headers, contentType: CONTENT_TYPE_JSON };
  }
  if (!isDisposed) headers[Headers.stream] = 'next';
  if (response?.contentType) headers[Headers.contentType] = response.contentType;
  return { body: response?.body ?? EMPTY, headers, contentType: response?.contentType };
}

const REPLY_KEYS: ReadonlySet<string> = new Set(['id', 'err', 'response', 'isDisposed', 'status']);

// As Nest's client decides: an object with envelope keys only; anything else is a foreign payload.
function isEnvelope(value: unknown): value is NestReply {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => REPLY_KEYS.has(key));
}

function errorKind(err: unknown): RpcRemoteErrorKind {
  if (err === NEST_NO_HANDLER) return 'no-handler';
  const e = err as { status?: unknown; message?: unknown };
  return e?.status === 'error' && e.message === 'Internal server error' ? 'internal' : 'exception';
}

function asReply(encoded: Encoded, headers: HeaderMap): InboundReply {
  headers[Headers.contentType] = encoded.contentType;
  return { body: encoded.body, headers, contentType: encoded.contentType };
}

// Our server encoded this body itself, so it decodes; an error payload that would not stays text.
function decodeOr(reply: OutboundMessage, kind?: string): unknown {
  try {
    return decode(reply.body, reply.contentType);
  } catch {
    return kind ? { status: 'error', message: toBuffer(reply.body).toString('utf8') } : undefined;
  }
}
