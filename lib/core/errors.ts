/** Machine-readable codes carried by every error this package raises. */
export type RpcErrorCode =
  | 'RPC_TIMEOUT'
  | 'RPC_REMOTE'
  | 'RPC_NO_RESPONDERS'
  | 'RPC_CONNECTION'
  | 'RPC_PAYLOAD_TOO_LARGE'
  | 'RPC_INVALID_PATTERN'
  | 'RPC_DECODE'
  | 'RPC_STREAM_RESTARTED'
  | 'RPC_STREAM_GAP'
  | 'RPC_NOT_CONFIRMED'
  | 'RPC_GROUP_CONFLICT'
  | 'RPC_STREAM_CAPTURED'
  | 'RPC_TOPOLOGY'
  | 'RPC_DRIVER_UNAVAILABLE'
  | 'RPC_ASYNCAPI';

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

/**
 * Why a remote handler failed: its own `RpcException`, an internal error, no handler, a body it could
 * not decode, a reply too large, a stream past `maxStreamDuration`, a server too busy to queue the
 * request (`overloaded`, try later), or the server shutting down (the handler did not start, or its
 * stream was stopped at close; safe to retry elsewhere if it did not start), or a JetStream request
 * dead-lettered after `maxDeliver` deliveries (the workers died on it).
 */
export type RpcRemoteErrorKind =
  | 'exception'
  | 'internal'
  | 'no-handler'
  | 'bad-request'
  | 'too-large'
  | 'stream-limit'
  | 'overloaded'
  | 'shutting-down'
  | 'dead-lettered';

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

/**
 * What a broker or the TLS handshake refused at connect: the credentials (`authentication`), or the
 * server's certificate (`tls`: not signed by a trusted CA, or not for this host). Neither is retried.
 */
export type ConnectionRefusal = 'authentication' | 'tls';

/**
 * The connection or reply channel failed, or the client was closed while the request was pending.
 * `refused` is set when `connect()`/`listen()` failed because the credentials or the certificate were refused.
 */
export class RpcConnectionError extends RpcError {
  readonly refused?: ConnectionRefusal;
  constructor(message: string, options?: { cause?: unknown; refused?: ConnectionRefusal }) {
    super('RPC_CONNECTION', message, options);
    if (options?.refused) this.refused = options.refused;
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

/**
 * A stream that had started was handled again (a redelivery after a connection loss, a rebalance or
 * a dead server): its values would start over. Opt into restarting with `restartStreams`.
 */
export class RpcStreamRestartedError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly correlationId: string,
  ) {
    super(
      'RPC_STREAM_RESTARTED',
      `The stream of "${pattern}" was restarted by a redelivery after it had started (correlation id ${correlationId})`,
    );
  }
}

/** A frame of a stream is missing or arrived out of order; nothing after it is delivered. */
export class RpcStreamGapError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly correlationId: string,
    readonly expected: number,
    readonly received: number,
  ) {
    super(
      'RPC_STREAM_GAP',
      `The stream of "${pattern}" lost or reordered a frame: expected frame ${expected}, got ${received} (correlation id ${correlationId})`,
    );
  }
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The broker did not confirm an event: it refused it (`nack`), the channel closed before the confirm
 * (it may or may not have the event), or no confirm came within the emit's timeout.
 */
export class RpcNotConfirmedError extends RpcError {
  constructor(
    readonly pattern: string,
    readonly reason: 'nacked' | 'lost' | 'timeout',
    message: string,
    options?: { cause?: unknown },
  ) {
    super('RPC_NOT_CONFIRMED', message, options);
  }
}

/** Another member of the group a server joins, as the broker describes it. */
export interface GroupConflictMember {
  clientId: string;
  host: string;
  /** What it consumes (Kafka: the topics it subscribed to). */
  topics: string[];
}

/**
 * The consumer group a server joined has members consuming other destinations than this server (two
 * services sharing one group, typically both on the default group id), so the broker would split
 * the work between services that cannot do each other's.
 */
export class RpcGroupConflictError extends RpcError {
  constructor(
    readonly groupId: string,
    readonly topics: string[],
    readonly members: GroupConflictMember[],
    hint: string,
  ) {
    const others = members
      .map((m) => `client "${m.clientId}" on ${m.host} consumes ${list(m.topics)}`)
      .join('; ');
    super(
      'RPC_GROUP_CONFLICT',
      `Consumer group "${groupId}" has members consuming other topics than this server (${list(topics)}): ${others}. ${hint}`,
    );
  }
}

function list(names: string[]): string {
  return names.length === 0 ? 'nothing' : names.map((n) => `"${n}"`).join(', ');
}

/**
 * A core NATS request went to a subject that a JetStream stream captures: nats-server stored it and
 * answered with the stream's publish ack, which is not the handler's reply.
 */
export class RpcStreamCapturedError extends RpcError {
  constructor(
    /** The request's subject (its pattern). */
    readonly subject: string,
    readonly stream: string,
    /** Why the stream refused the request, when its ack said so (it stored nothing then). */
    readonly streamError?: string,
  ) {
    super(
      'RPC_STREAM_CAPTURED',
      `The request to "${subject}" was captured by JetStream stream "${stream}" ` +
        (streamError ? `(which refused it: ${streamError})` : 'and stored there') +
        ": the reply is the stream's publish ack, not a handler's. " +
        'Use JetStream mode for subjects a stream captures, or remove the subject from the stream.',
    );
  }
}

/**
 * The client library a transport was configured to use cannot be loaded: its package is not
 * installed (`not-installed`), or it does not support this Node.js version (`node-version`).
 */
export class RpcDriverUnavailableError extends RpcError {
  constructor(
    /** The driver selected (e.g. `platformatic`). */
    readonly driver: string,
    /** The npm package it needs. */
    readonly packageName: string,
    readonly reason: 'not-installed' | 'node-version',
    /** For `node-version`: the Node.js versions it supports. */
    readonly requiredNode?: string,
    options?: { cause?: unknown },
  ) {
    super(
      'RPC_DRIVER_UNAVAILABLE',
      reason === 'not-installed'
        ? `The "${driver}" driver needs the package "${packageName}": install it with \`npm install ${packageName}\`.`
        : `The "${driver}" driver (${packageName}) needs Node.js ${requiredNode ?? 'a newer version'}; this is ${process.version}.`,
      options,
    );
  }
}

/** The AsyncAPI document could not be built from what it was given (a schema for no known pattern). */
export class RpcAsyncApiError extends RpcError {
  constructor(message: string) {
    super('RPC_ASYNCAPI', message);
  }
}
