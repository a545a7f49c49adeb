import { checkTimeout } from './options.js';
import type { HeaderMap } from './wire.js';

/** Per-call options carried by an `RpcRecord`. Unset fields fall back to the client's options. */
export interface RpcRecordOptions {
  /** Milliseconds to wait for each reply message; `0` waits forever. */
  timeout?: number;
  /** Headers sent with the request. */
  headers?: HeaderMap;
  /** With `emit`: the pattern the server publishes its result to (non-blocking RPC). */
  replyTo?: string;
  /** Emit `{ data, headers }` (an `RpcReply`) instead of bare data. */
  withReplyHeaders?: boolean;
  /** Restart a redelivered stream from its first value instead of failing it (the client's `restartStreams`). */
  restartStream?: boolean;
  /** Kafka: the message key. */
  key?: string | Uint8Array;
  /** Kafka: the partition. */
  partition?: number;
  /** Broker-specific extras, passed to the adapter untouched. */
  extras?: Record<string, unknown>;
}

const RECORD_BRAND = Symbol.for('nestjs-broker-rpc.record');

/** A payload with per-call options. Build one with `RpcRecordBuilder`. */
export class RpcRecord<TData = unknown> {
  readonly [RECORD_BRAND] = true;
  constructor(
    readonly data: TData,
    readonly options: Readonly<RpcRecordOptions> = {},
  ) {}

  static is(value: unknown): value is RpcRecord {
    return typeof value === 'object' && value !== null && (value as any)[RECORD_BRAND] === true;
  }
}

/** Builds an `RpcRecord`, in the style of Nest's record builders. */
export class RpcRecordBuilder<TData = unknown> {
  private options: RpcRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }
  setHeaders(headers: HeaderMap): this {
    this.options.headers = { ...this.options.headers, ...headers };
    return this;
  }
  setTimeout(ms: number): this {
    checkTimeout('timeout', ms);
    this.options.timeout = ms;
    return this;
  }
  setReplyTo(pattern: string): this {
    this.options.replyTo = pattern;
    return this;
  }
  withReplyHeaders(on = true): this {
    this.options.withReplyHeaders = on;
    return this;
  }
  /** A stream redelivered after it started restarts from its first value instead of failing. */
  restartStream(on = true): this {
    this.options.restartStream = on;
    return this;
  }
  setKey(key: string | Uint8Array): this {
    this.options.key = key;
    return this;
  }
  setPartition(partition: number): this {
    this.options.partition = partition;
    return this;
  }
  setExtras(extras: Record<string, unknown>): this {
    this.options.extras = { ...this.options.extras, ...extras };
    return this;
  }
  build(): RpcRecord<TData> {
    return new RpcRecord(this.data as TData, { ...this.options });
  }
}

const RESPONSE_BRAND = Symbol.for('nestjs-broker-rpc.response');

/** Return this from a handler to set reply headers. */
export class RpcResponse<TData = unknown> {
  readonly [RESPONSE_BRAND] = true;
  constructor(
    readonly data: TData,
    readonly options: { headers?: HeaderMap } = {},
  ) {}

  static is(value: unknown): value is RpcResponse {
    return typeof value === 'object' && value !== null && (value as any)[RESPONSE_BRAND] === true;
  }
}

/** What a call made with `withReplyHeaders()` emits. */
export interface RpcReply<TData = unknown> {
  data: TData;
  headers: HeaderMap;
}
