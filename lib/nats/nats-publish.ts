import type { NatsConnection, PublishOptions } from '@nats-io/transport-node';
import { RpcPayloadTooLargeError } from '../core/errors.js';

/** Publishes, turning nats.js's max_payload refusal into `RpcPayloadTooLargeError`. */
export function publish(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array,
  options: PublishOptions,
): void {
  try {
    nc.publish(subject, body, options);
  } catch (err) {
    if (/max_payload/.test((err as Error)?.message ?? '')) {
      throw new RpcPayloadTooLargeError(subject, body.length, nc.info?.max_payload ?? 0);
    }
    throw err;
  }
}
