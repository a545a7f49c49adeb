import { RpcContext } from '../core/rpc-context.js';
import type { MemoryMessage } from './memory-broker.js';

/** `@Ctx()` on the in-memory transport: the common accessors, plus `getSubject()` as on NATS. */
export class MemoryRpcContext extends RpcContext<MemoryMessage> {
  /** The concrete subject (the pattern may be a wildcard). */
  getSubject(): string {
    return this.getDestination();
  }
}
