/** Machine-readable codes carried by every error this package raises. */
export type RpcErrorCode =
  | 'RPC_TIMEOUT'
  | 'RPC_REMOTE'
  | 'RPC_NO_RESPONDERS'
  | 'RPC_CONNECTION'
  | 'RPC_PAYLOAD_TOO_LARGE'
  | 'RPC_INVALID_PATTERN'
  | 'RPC_DECODE';

const ERROR_BRAND = Symbol.for('nestjs-broker-rpc.error');

/**
 * Base class of the package's errors. `RpcError.is(err)` works across module copies
 * (an ESM and a CJS build loaded side by side), where `instanceof` would not.
 */
export class RpcError extends Error {
  readonly [ERROR_BRAND] = true;
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  static is(value: unknown, code?: RpcErrorCode): value is RpcError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as any)[ERROR_BRAND] === true &&
      (code === undefined || (value as RpcError).code === code)
    );
  }
}

/** No reply arrived within the request's timeout. */
export class RpcTimeoutError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly correlationId: string,
    readonly timeoutMs: number,
    readonly elapsedMs: number,
  ) {
    super(
      'RPC_TIMEOUT',
      `No reply for "${pattern}" within ${timeoutMs} ms (correlation id ${correlationId})`,
    );
  }
}

/** Why a remote handler failed: its own `RpcException`, an internal error, no handler, or a body it could not decode. */
export type RpcRemoteErrorKind = 'exception' | 'internal' | 'no-handler' | 'bad-request' | 'too-large';

/** The server answered with an error. `.error` holds what the handler threw through `RpcException`. */
export class RpcRemoteError<TError = unknown> extends RpcError {
  constructor(
    readonly pattern: string,
    readonly kind: RpcRemoteErrorKind,
    readonly error: TError,
    readonly correlationId?: string,
  ) {
    super('RPC_REMOTE', remoteMessage(pattern, error));
  }
}

function remoteMessage(pattern: string, error: unknown): string {
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  return `Remote handler for "${pattern}" failed`;
}

/** Nobody listens on the destination; raised at once rather than after the timeout. */
export class RpcNoRespondersError extends RpcError {
  constructor(readonly pattern: string) {
    super('RPC_NO_RESPONDERS', `No responders for "${pattern}"`);
  }
}

/** The connection or reply channel failed, or the client was closed while the request was pending. */
export class RpcConnectionError extends RpcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RPC_CONNECTION', message, options);
  }
}

/** A message is larger than the broker accepts. */
export class RpcPayloadTooLargeError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('RPC_PAYLOAD_TOO_LARGE', `Message for "${pattern}" is ${size} bytes; the broker accepts ${limit}`);
  }
}

/** A pattern that cannot be mapped to a broker destination. */
export class RpcInvalidPatternError extends RpcError {
  constructor(message: string) {
    super('RPC_INVALID_PATTERN', message);
  }
}

/** A reply arrived that this client could not decode (its body does not match its content type, or the `deserializer` threw). */
export class RpcDecodeError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly correlationId: string,
    options?: { cause?: unknown },
  ) {
    super(
      'RPC_DECODE',
      `Could not decode the reply for "${pattern}" (correlation id ${correlationId}): ${describeCause(options?.cause)}`,
      options,
    );
  }
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
