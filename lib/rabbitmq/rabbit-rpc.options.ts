import type { Options, RecoveryOptions, SocketOptions } from 'amqplib';
import type { RpcClientOptions, RpcServerOptions } from '../core/options.js';

/** Where a client's replies arrive: RabbitMQ's direct reply-to pseudo-queue. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
export const DEFAULT_RABBIT_URL = 'amqp://localhost:5672';
/** Unacknowledged requests per consumer (per queue) on a server. */
export const DEFAULT_RABBIT_PREFETCH = 50;
/** Extra attempts of a failed event on a quorum queue: none, it is dead-lettered (with a DLX) or dropped at once. */
export const DEFAULT_RABBIT_EVENT_RETRIES = 0;
/**
 * RabbitMQ 4's default `max_message_size` (16 MiB; 3.x allowed 128 MiB): a larger message would make
 * the broker close the channel. Raise `maxMessageSize` along with the broker's setting for more.
 */
export const DEFAULT_RABBIT_MAX_MESSAGE_SIZE = 16_777_216;
/** How long one connection attempt may take (amqplib's `socketOptions.timeout`; off once connected). */
export const DEFAULT_RABBIT_CONNECT_TIMEOUT = 10_000;
/**
 * amqplib connection recovery: exponential backoff from 100 ms to 5 s with jitter, forever once connected;
 * the first connection is tried once, so a wrong URL fails `connect()`/`listen()` at once.
 */
export const DEFAULT_RABBIT_RECONNECT: Readonly<RabbitReconnectOptions> = Object.freeze({
  initialDelay: 100,
  maxDelay: 5_000,
  factor: 2,
  jitter: 0.2,
  maxRetries: Infinity,
  initialMaxRetries: 0,
});

/** amqplib's recovery settings, less the hooks the adapter owns (`setup`, `waitForConnect`). */
export type RabbitReconnectOptions = Omit<RecoveryOptions, 'setup' | 'waitForConnect'>;

export interface RabbitConnectionOptions {
  /**
   * Broker URLs (or amqplib connect objects), e.g. the nodes of a cluster. The first that accepts is used;
   * recovery retries the URL it lost, then the others in turn. Default `[DEFAULT_RABBIT_URL]`.
   */
  urls?: Array<string | Options.Connect>;
  /**
   * amqplib socket options: `timeout` (of a connection attempt; default `DEFAULT_RABBIT_CONNECT_TIMEOUT`),
   * `noDelay` (default true here), `clientProperties`, TLS settings… The heartbeat is set in the URL
   * (`?heartbeat=30`) or connect object, where amqplib reads it.
   */
  socketOptions?: SocketOptions;
  /** Reconnection through amqplib's own connection recovery; `false` turns it off. Default `DEFAULT_RABBIT_RECONNECT`. */
  reconnect?: RabbitReconnectOptions | false;
  /**
   * Largest message published; larger ones fail with `RpcPayloadTooLargeError`. Default
   * `DEFAULT_RABBIT_MAX_MESSAGE_SIZE` (16 MiB, RabbitMQ 4's `max_message_size`); raise it only with the broker's.
   */
  maxMessageSize?: number;
  /**
   * Write the frames amqplib queues in one turn to the socket in one syscall (corks the socket around
   * amqplib's multiplexer; skipped if amqplib's internals look different). Default true.
   */
  coalesceWrites?: boolean;
}

/** How a queue is declared. Unset fields take RabbitMQ's/amqplib's defaults, except `durable` (false). */
export interface RabbitQueueOptions {
  /** Survives a broker restart. Default false (as in RabbitMQ's RPC tutorial and FastStream). */
  durable?: boolean;
  /** Deleted when its last consumer goes. Default false. */
  autoDelete?: boolean;
  /** A quorum queue (`x-queue-type: quorum`, durable). Default false. */
  quorum?: boolean;
  /** Dead-letter exchange (`x-dead-letter-exchange`). Requests that cannot be handled and have no reply address go there. */
  deadLetterExchange?: string;
  /** Routing key for dead letters (`x-dead-letter-routing-key`). */
  deadLetterRoutingKey?: string;
  /** Other `x-` arguments, as RabbitMQ names them. */
  arguments?: Record<string, unknown>;
  /** Only check that the queue exists (passive declare); never declare or bind it. Default false. */
  passive?: boolean;
}

/** A named exchange for the exchange topology. */
export interface RabbitExchangeOptions {
  name: string;
  /** `topic` (patterns may use `*` and `#`) or `direct`. Default `topic`. */
  type?: 'topic' | 'direct';
  /** Default true. */
  durable?: boolean;
  /** Only check that it exists. Default false. */
  passive?: boolean;
  arguments?: Record<string, unknown>;
}

export interface RabbitRpcServerOptions extends RpcServerOptions, RabbitConnectionOptions {
  /** Unacknowledged requests per consumer (each queue has one consumer). Default `DEFAULT_RABBIT_PREFETCH`. */
  prefetch?: number;
  /**
   * Consume without acknowledgements (at most once), as Nest's built-in RMQ transport does by default.
   * Cheaper for the broker, but a request whose worker dies is lost (the caller times out), `prefetch`
   * no longer bounds what the broker pushes (requests beyond `maxConcurrency` wait in this process),
   * and nothing is dead-lettered. Default false: ack once the replies are out (at least once).
   */
  noAck?: boolean;
  /**
   * Acknowledge finished requests together: one `basic.ack` with `multiple` for each unbroken run of
   * finished deliveries (from the oldest unacked up), sent on the next event-loop turn; requests that
   * finish ahead of an older one still running are acked one by one. Fewer frames for the broker to
   * handle; nothing unfinished is ever acked. Default true; false sends one ack per request at once.
   */
  batchAcks?: boolean;
  /**
   * Extra attempts for an event whose handler failed, on queues that count deliveries (quorum queues,
   * `x-delivery-count`): it is requeued while fewer attempts were made, then dead-lettered (with a
   * dead-letter exchange) or dropped. Classic queues count nothing: there a failed event is never
   * requeued. Default `DEFAULT_RABBIT_EVENT_RETRIES` (0).
   */
  eventRetries?: number;
  /** Declaration options of the queues this server consumes. A handler can override them: `@MessagePattern('x', { queue: {…} })`. */
  queue?: RabbitQueueOptions;
  /**
   * Exchange topology: bind one service queue (`serviceQueue`) to this exchange with every pattern
   * as binding key, and dispatch by routing key. Default: none, one queue per pattern on the default exchange.
   */
  exchange?: string | RabbitExchangeOptions;
  /** The service queue of the exchange topology. Required with `exchange`. */
  serviceQueue?: string;
  /**
   * Queues unchanged Nest `ClientRMQ` callers publish to (their `queue` option): consumed beside ours,
   * each message routed by its envelope's `pattern`, as Nest's `ServerRMQ` does. Needs `nestCompat`.
   * Default: none.
   */
  nestQueues?: string | string[];
  /** How the `nestQueues` are declared. Default `DEFAULT_NEST_QUEUE_OPTIONS` (durable, as Nest declares them). */
  nestQueueOptions?: RabbitQueueOptions;
}

/** Nest's `ServerRMQ` and `ClientRMQ` declare their queue with amqplib's defaults: durable. */
export const DEFAULT_NEST_QUEUE_OPTIONS: Readonly<RabbitQueueOptions> = Object.freeze({ durable: true });

export interface RabbitRpcClientOptions extends RpcClientOptions, RabbitConnectionOptions {
  /** Exchange requests and events are published to, with the pattern as routing key. Default `''` (the default exchange). */
  exchange?: string | RabbitExchangeOptions;
  /**
   * Reply queue: `DIRECT_REPLY_TO` (default) uses RabbitMQ's direct reply-to; any other name declares a private
   * exclusive, auto-deleted queue of that name (`''` lets the broker name it).
   */
  replyQueue?: string;
  /** Publish requests and events as persistent (delivery mode 2). Default false. */
  persistent?: boolean;
  /**
   * With `protocol: 'nest'`: the queue the Nest `ServerRMQ` consumes (its `queue` option); every
   * request and event goes there, the pattern in the envelope. Required with `protocol: 'nest'`.
   */
  nestQueue?: string;
}

export interface ResolvedExchange {
  name: string;
  type: 'topic' | 'direct';
  durable: boolean;
  passive: boolean;
  arguments?: Record<string, unknown>;
}

export function resolveExchange(
  exchange: string | RabbitExchangeOptions | undefined,
): ResolvedExchange | undefined {
  if (exchange === undefined || exchange === '') return undefined;
  const e = typeof exchange === 'string' ? { name: exchange } : exchange;
  if (!e.name) return undefined;
  return {
    name: e.name,
    type: e.type ?? 'topic',
    durable: e.durable ?? true,
    passive: e.passive ?? false,
    arguments: e.arguments,
  };
}
