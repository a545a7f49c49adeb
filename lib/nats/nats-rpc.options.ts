import type { NodeConnectionOptions } from '@nats-io/transport-node';
import type { RpcClientOptions, RpcServerOptions } from '../core/options.js';
import type { JetStreamClientOptions, JetStreamServerOptions } from './jetstream/jetstream-options.js';

/** Connection options passed through to nats.js `connect()` (servers, token, user/pass, authenticator, tls, reconnect settings…). */
export type NatsConnectionOptions = Omit<NodeConnectionOptions, 'inboxPrefix'> & {
  /**
   * How long one connection attempt to one server may take, in ms: nats.js's own `timeout`, which our
   * `timeout` (the request timeout) shadows. In a cluster a server that does not answer at all (a
   * partition) holds up the reconnect to the next one that long. Default: nats.js's (20 000).
   */
  connectTimeout?: number;
};

export interface NatsRpcServerOptions extends RpcServerOptions, NatsConnectionOptions {
  /**
   * Queue group every handler joins, so that one instance answers each request.
   * `false` opts out: every instance answers and the client keeps the first reply.
   * A handler can override it: `@MessagePattern('x', { queue: 'other' })` or `{ queue: false }`.
   * Default `DEFAULT_NATS_QUEUE`.
   */
  queue?: string | false;
  /**
   * JetStream mode: requests and events come from a stream through durable consumers, acked once
   * handled, redelivered when a worker dies (`true`: the defaults). Needs `@nats-io/jetstream`. Default off.
   */
  jetstream?: boolean | JetStreamServerOptions;
}

export interface NatsRpcClientOptions extends RpcClientOptions, NatsConnectionOptions {
  /** Prefix of the client's reply inbox. Default `_INBOX`. */
  inboxPrefix?: string;
  /**
   * JetStream mode: requests and events are published to a stream and wait for its publish ack;
   * replies still come to the inbox (`true`: the defaults). Needs `@nats-io/jetstream`. Default off.
   */
  jetstream?: boolean | JetStreamClientOptions;
}

export const DEFAULT_NATS_QUEUE = 'nestjs-broker-rpc';
/** Keep reconnecting forever: a microservice should outlive a broker restart. */
export const DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS = -1;

/** Splits our options from the ones nats.js takes. */
export function natsConnectionOptions(
  options: NatsRpcServerOptions | NatsRpcClientOptions,
): NodeConnectionOptions {
  const {
    queue: _queue,
    inboxPrefix,
    timeout: _timeout,
    destination: _destination,
    serializer: _serializer,
    deserializer: _deserializer,
    maxConcurrency: _maxConcurrency,
    maxQueued: _maxQueued,
    closeTimeout: _closeTimeout,
    replyTo: _replyTo,
    deadlineGrace: _deadlineGrace,
    jetstream: _jetstream,
    nestCompat: _nestCompat,
    protocol: _protocol,
    connectTimeout,
    ...connection
  } = options as NatsRpcServerOptions & NatsRpcClientOptions;
  return {
    maxReconnectAttempts: DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS,
    ...connection,
    ...(inboxPrefix ? { inboxPrefix } : {}),
    ...(connectTimeout !== undefined ? { timeout: connectTimeout } : {}),
  };
}
