import { RpcError, RpcRemoteError } from '../core/errors.js';

/**
 * The `error.type` of a failed request: the remote error kind (`exception`, `internal`, `no-handler`, …),
 * `timeout`, another of this package's errors by code in lower case (`rpc_connection`), else the
 * error's class name, or `_OTHER`.
 */
export function errorType(err: unknown): string {
  if (err instanceof RpcRemoteError) return err.kind;
  if (RpcError.is(err)) return err.code === 'RPC_TIMEOUT' ? 'timeout' : err.code.toLowerCase();
  if (err instanceof Error) return err.constructor.name || '_OTHER';
  return '_OTHER';
}
