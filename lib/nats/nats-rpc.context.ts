import type { Msg } from '@nats-io/transport-node';
import { RpcContext } from '../core/rpc-context.js';

/** `@Ctx()` on NATS: the concrete subject, the headers and the nats.js message. */
export class NatsRpcContext extends RpcContext<Msg> {
  /** The concrete subject (the pattern may be a wildcard). */
  getSubject(): string {
    return this.getDestination();
  }
}
