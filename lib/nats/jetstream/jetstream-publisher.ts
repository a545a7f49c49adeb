import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { RpcNoRespondersError, RpcPayloadTooLargeError } from '../../core/errors.js';

/**
 * Publishes to a stream and waits for its publish ack: the message is stored once this resolves.
 * No stream captures the subject → `RpcNoRespondersError` (nats.js reports it as "JetStream not
 * enabled"); too large → `RpcPayloadTooLargeError`; a stream refusal (wrong stream, full) rejects.
 */
export async function publishToStream(
  js: JetStreamClient,
  subject: string,
  body: Uint8Array,
  headers: MsgHdrs,
  stream: string | undefined,
  maxPayload: number,
): Promise<void> {
  try {
    await js.publish(subject, body, { headers, ...(stream ? { expect: { streamName: stream } } : {}) });
  } catch (err) {
    // nats.js wraps the 503 no-responders status in JetStreamNotEnabled; the conformance suite's no-responders test guards it
    if (((err as Error)?.cause as { isNoResponders?(): boolean })?.isNoResponders?.())
      throw new RpcNoRespondersError(subject);
    if (/max_payload/.test((err as Error)?.message ?? ''))
      throw new RpcPayloadTooLargeError(subject, body.length, maxPayload);
    throw err;
  }
}
