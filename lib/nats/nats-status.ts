import type { NatsConnection } from '@nats-io/transport-node';
import type { RpcStatus } from '../core/status.js';

/** Maps nats.js connection status to ours until the connection closes. */
export function watchStatus(
  nc: NatsConnection,
  report: (status: RpcStatus, ...args: unknown[]) => void,
): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') report('disconnected');
      else if (s.type === 'reconnecting') report('reconnecting');
      else if (s.type === 'reconnect') report('connected');
    }
  })().catch(() => undefined);
}
