import type { DestinationMapper } from './patterns.js';
import type { ReplyToOptions } from './reply-policy.js';
import type { TelemetryOptions } from '../telemetry/telemetry-options.js';

/** Turns a payload into what the codec encodes, and back. Nest's serializer interfaces fit. */
export interface PayloadSerializer {
  serialize(value: any, options?: Record<string, any>): any;
}
export interface PayloadDeserializer {
  deserialize(value: any, options?: Record<string, any>): any;
}

/** Options every client shares, whatever the broker. */
export interface RpcClientOptions {
  /** Milliseconds to wait for each reply message; `0` waits forever. Default `DEFAULT_TIMEOUT` (30 s). */
  timeout?: number;
  /** Maps object patterns to destinations; string patterns are destinations as they are. */
  destination?: DestinationMapper;
  /** Applied to each payload before encoding. Default: none. */
  serializer?: PayloadSerializer;
  /** Applied to each reply after decoding. Default: none. */
  deserializer?: PayloadDeserializer;
  /**
   * A stream handled again after it started (a redelivery) restarts from its first value instead of
   * failing with `RpcStreamRestartedError`. Default `false`; `RpcRecordBuilder.restartStream()` per call.
   */
  restartStreams?: boolean;
  /**
   * The wire format of requests and events: `native` (ours, `docs/wire-protocol.md`) or `nest`, the
   * envelope of Nest's built-in transport for this broker, to call an unchanged Nest built-in server.
   * Timeouts, typed errors and no-responders apply either way. Default `DEFAULT_PROTOCOL`.
   */
  protocol?: RpcProtocol;
  /** OpenTelemetry tracing and metrics (`docs/observability.md`). Default `DEFAULT_TELEMETRY`: both on, inert without an SDK. */
  telemetry?: TelemetryOptions;
  /**
   * Milliseconds `close()` waits for the broker to confirm the close (events' confirms, a channel's and
   * the connection's close-ok) before it cuts the connection: a broker gone silent never holds `close()`.
   * Default `DEFAULT_BROKER_CLOSE_TIMEOUT`.
   */
  brokerCloseTimeout?: number;
}

/** `native`: our wire format; `nest`: Nest's built-in transport's. */
export type RpcProtocol = 'native' | 'nest';

/** Options every server shares, whatever the broker. */
export interface RpcServerOptions {
  /** Requests handled at once by this server; the rest wait. Default `DEFAULT_MAX_CONCURRENCY`. */
  maxConcurrency?: number;
  /**
   * Requests that may wait for a handler slot; beyond them a NATS server (and a RabbitMQ one with
   * `noAck`) answers at once with an `overloaded` error, and a Kafka server pauses its partitions.
   * Default `DEFAULT_MAX_QUEUED`.
   */
  maxQueued?: number;
  /** Milliseconds `close()` waits for in-flight handlers before closing the connection. Default `DEFAULT_CLOSE_TIMEOUT`. */
  closeTimeout?: number;
  /**
   * Milliseconds `close()` waits for the broker at each of its two steps, stopping intake (a consumer's
   * cancel-ok, a NATS drain) and closing the connection, before it goes on without the broker's answer
   * and cuts the connection: a broker gone silent never holds `close()`. Default `DEFAULT_BROKER_CLOSE_TIMEOUT`.
   */
  brokerCloseTimeout?: number;
  /**
   * Milliseconds added to a request's deadline before it counts as passed: the clock skew tolerated
   * between caller and server. Default `DEFAULT_DEADLINE_GRACE`.
   */
  deadlineGrace?: number;
  /** Maps object patterns to destinations; string patterns are destinations as they are. */
  destination?: DestinationMapper;
  /** Applied to each reply value before encoding. Default: none. */
  serializer?: PayloadSerializer;
  /** Applied to each request payload after decoding. Default: none. */
  deserializer?: PayloadDeserializer;
  /**
   * Where requests may ask for replies: `{ allow }` restricts reply addresses to an allow-list. Default:
   * any address but this server's own request destinations (always refused: a reply loop).
   */
  replyTo?: ReplyToOptions;
  /**
   * Milliseconds a handler's stream may run before the server stops it and replies a `stream-limit`
   * error: a stream whose caller left without a cancel message ends there. `0`: no bound.
   * Default `DEFAULT_MAX_STREAM_DURATION` (1 h).
   */
  maxStreamDuration?: number;
  /**
   * Also answer callers using Nest's built-in client for this broker (`ClientNats`, `ClientRMQ`), in
   * their envelope; `false` reads every message as our wire format. Default `DEFAULT_NEST_COMPAT`.
   */
  nestCompat?: boolean;
  /** OpenTelemetry tracing and metrics (`docs/observability.md`). Default `DEFAULT_TELEMETRY`: both on, inert without an SDK. */
  telemetry?: TelemetryOptions;
}

export const DEFAULT_TIMEOUT = 30_000; // thirty seconds
export const DEFAULT_MAX_CONCURRENCY = 100; // handlers at once per server
export const DEFAULT_MAX_QUEUED = 1_000; // requests waiting for a handler slot per server
export const DEFAULT_CLOSE_TIMEOUT = 10_000; // ten seconds
export const DEFAULT_BROKER_CLOSE_TIMEOUT = 5_000; // five seconds per step of close() that waits for the broker
export const DEFAULT_MAX_STREAM_DURATION = 3_600_000; // one hour
export const DEFAULT_PROTOCOL: RpcProtocol = 'native';
export const DEFAULT_NEST_COMPAT = true; // unchanged Nest built-in callers are answered next to ours
export const DEFAULT_DEADLINE_GRACE = 1_000; // one second of clock skew between caller and server

/** The longest delay Node's timers honour (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMEOUT = 2_147_483_647;

export function checkTimeout(name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= MAX_TIMEOUT))) {
    throw new RangeError(`${name} must be a number of milliseconds from 0 to ${MAX_TIMEOUT}, got ${value}`);
  }
}
