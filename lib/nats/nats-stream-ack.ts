import type { Msg } from '@nats-io/transport-node';

/** What a JetStream publish ack says: the stream that stored the request, or why it did not. */
export interface StreamAck {
  stream: string;
  seq: number;
  /** The ack's `error.description` when the stream refused the message (full, wrong expected stream, …). */
  error?: string;
}

/** The keys nats-server puts in a publish ack (`PubAck` plus the API error). */
const ACK_KEYS: ReadonlySet<string> = new Set(['stream', 'seq', 'duplicate', 'domain', 'error']);
const OPEN_BRACE = 0x7b;

/**
 * The JetStream publish ack in a reply, if it is one: nats-server answers a request to a subject a
 * stream captures with a header-less JSON body of `stream`, `seq` and only ack keys. Our servers
 * always send a `content-type` header, so a reply with headers is never taken for an ack.
 */
export function streamAckOf(msg: Pick<Msg, 'headers' | 'data'>): StreamAck | undefined {
  if (msg.headers !== undefined || msg.data[0] !== OPEN_BRACE) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(
      Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).toString('utf8'),
    );
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const ack = body as Record<string, unknown>;
  if (typeof ack.stream !== 'string' || typeof ack.seq !== 'number') return undefined;
  if (!Object.keys(ack).every((key) => ACK_KEYS.has(key))) return undefined;
  const description = (ack.error as { description?: unknown } | undefined)?.description;
  return {
    stream: ack.stream,
    seq: ack.seq,
    ...(typeof description === 'string' ? { error: description } : {}),
  };
}
