import type { RpcClientOptions, RpcServerOptions } from '../core/options.js';
import { MemoryBroker } from './memory-broker.js';

export interface MemoryRpcServerOptions extends RpcServerOptions {
  /** The broker to serve on. Default `MemoryBroker.default`, the process's shared one. */
  broker?: MemoryBroker;
  /**
   * Queue group every handler joins, so that one server of the group answers each request and one
   * handles each event (every group gets the event). `false`: no group, every server gets each message
   * and the client keeps the first reply. A handler can override it: `@MessagePattern('x', { queue: 'other' })`
   * or `{ queue: false }`. Default `DEFAULT_MEMORY_QUEUE`.
   */
  queue?: string | false;
}

export interface MemoryRpcClientOptions extends RpcClientOptions {
  /** The broker to send through. Default `MemoryBroker.default`, the process's shared one. */
  broker?: MemoryBroker;
}

/** The same default group as on NATS: servers of one pattern share the load unless told otherwise. */
export const DEFAULT_MEMORY_QUEUE = 'nestjs-broker-rpc';

/** Throws a TypeError for a `broker` or `queue` option of the wrong kind. */
export function checkMemoryOptions(
  options: MemoryRpcServerOptions | MemoryRpcClientOptions | undefined,
): void {
  const broker = options?.broker;
  if (broker !== undefined && !MemoryBroker.is(broker))
    throw new TypeError(`broker must be a MemoryBroker, got ${describeValue(broker)}`);
  const queue = (options as MemoryRpcServerOptions | undefined)?.queue;
  checkQueue('queue', queue);
}

/** `queue` is a non-empty string or `false`. */
export function checkQueue(name: string, queue: unknown): void {
  if (queue !== undefined && queue !== false && (typeof queue !== 'string' || queue.length === 0))
    throw new TypeError(`${name} must be a non-empty string or false, got ${describeValue(queue)}`);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'an object';
  return String(value);
}
