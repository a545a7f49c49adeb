import type { DestinationMapper } from './patterns.js';
import type { ReplyToOptions } from './reply-policy.js';

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
}

/** Options every server shares, whatever the broker. */
export interface RpcServerOptions {
  /** Requests handled at once by this server; the rest wait. Default `DEFAULT_MAX_CONCURRENCY`. */
  maxConcurrency?: number;
  /** Milliseconds `close()` waits for in-flight handlers before closing the connection. Default `DEFAULT_CLOSE_TIMEOUT`. */
  closeTimeout?: number;
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
}

export const DEFAULT_TIMEOUT = 30_000; // thirty seconds
export const DEFAULT_MAX_CONCURRENCY = 100; // handlers at once per server
export const DEFAULT_CLOSE_TIMEOUT = 10_000; // ten seconds

/** The longest delay Node's timers honour (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMEOUT = 2_147_483_647;

export function checkTimeout(name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= MAX_TIMEOUT))) {
    throw new RangeError(`${name} must be a number of milliseconds from 0 to ${MAX_TIMEOUT}, got ${value}`);
  }
}
