import { HttpStatus } from '@nestjs/common';
import {
  RpcError,
  type RpcNoRespondersError,
  type RpcPayloadTooLargeError,
  type RpcRemoteError,
  type RpcTimeoutError,
} from '../../../lib/index.js';

export interface HttpError {
  status: number;
  body: { statusCode: number; error: string; code: string; message: string; [field: string]: unknown };
}

/**
 * The HTTP answer for one of the package's typed errors, or `undefined` for any other error.
 * Only a handler's own `RpcException` payload is passed on; other remote failures keep their details inside.
 */
export function httpErrorOf(err: unknown): HttpError | undefined {
  if (!RpcError.is(err)) return undefined;
  const answer = (status: number, fields: Record<string, unknown> = {}): HttpError => ({
    status,
    body: { statusCode: status, error: err.name, code: err.code, message: err.message, ...fields },
  });
  switch (err.code) {
    case 'RPC_REMOTE': {
      const remote = err as RpcRemoteError;
      return remote.kind === 'exception'
        ? answer(HttpStatus.UNPROCESSABLE_ENTITY, {
            pattern: remote.pattern,
            kind: remote.kind,
            payload: remote.error,
          })
        : answer(HttpStatus.BAD_GATEWAY, { pattern: remote.pattern, kind: remote.kind });
    }
    case 'RPC_TIMEOUT': {
      const { pattern, correlationId, timeoutMs, elapsedMs } = err as RpcTimeoutError;
      return answer(HttpStatus.GATEWAY_TIMEOUT, { pattern, correlationId, timeoutMs, elapsedMs });
    }
    case 'RPC_NO_RESPONDERS':
      return answer(HttpStatus.SERVICE_UNAVAILABLE, { pattern: (err as RpcNoRespondersError).pattern });
    case 'RPC_PAYLOAD_TOO_LARGE': {
      const { pattern, size, limit } = err as RpcPayloadTooLargeError;
      return answer(HttpStatus.PAYLOAD_TOO_LARGE, { pattern, size, limit });
    }
    case 'RPC_INVALID_PATTERN':
      return answer(HttpStatus.INTERNAL_SERVER_ERROR);
    default: // RPC_CONNECTION, and any code added later: the worker could not be reached
      return answer(HttpStatus.BAD_GATEWAY);
  }
}
