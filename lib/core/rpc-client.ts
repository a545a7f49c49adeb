import type { AsyncApiClientSide } from '../asyncapi/asyncapi-document.js';
import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { headerTransport } from '../asyncapi/header-transport.js';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { Observable, type Subscriber } from 'rxjs';
import { CONTENT_TYPE_JSON, decode, encode } from './codec.js';
import { describe } from './describe.js';
import {
  RpcConnectionError,
  RpcDecodeError,
  RpcError,
  RpcRemoteError,
  type RpcRemoteErrorKind,
  RpcStreamGapError,
  RpcStreamRestartedError,
  RpcTimeoutError,
} from './errors.js';
import { settledWithin } from './broker-close.js';
import {
  checkTimeout,
  DEFAULT_BROKER_CLOSE_TIMEOUT,
  DEFAULT_TIMEOUT,
  type RpcClientOptions,
} from './options.js';
import { toDestination } from './patterns.js';
import { monotonicNow } from './clock.js';
import { CLIENT_COUNTERS, type ClientCounter, RpcCounters } from './counters.js';
import { stampDeadline } from './deadline.js';
import { PendingReplies, type PendingRequest } from './pending-replies.js';
import { RpcRecord, type RpcRecordOptions } from './record-builder.js';
import { StreamBinding } from './stream-binding.js';
import type { RpcEvents, RpcStatus } from './status.js';
import { ClientTelemetry, type SendTrace } from '../telemetry/client-telemetry.js';
import { Headers, type InboundReply, type OutboundMessage, RESERVED_HEADERS, userHeaders } from './wire.js';

/** A request or event ready for an adapter to publish. */
export interface OutboundRequest extends OutboundMessage {
  /** Per-call options from an `RpcRecord`. */
  options: Readonly<RpcRecordOptions>;
}

/** A request waiting for its replies. */
export interface ActiveRequest extends PendingRequest {
  readonly subscriber: Subscriber<unknown>;
  readonly withHeaders: boolean;
  /** Restart the stream from the beginning on a redelivery instead of failing it. */
  readonly restartStream: boolean;
  /** The responder and attempt the stream is bound to, from its first frame with ids. */
  stream?: StreamBinding;
  /** Its span and clock while telemetry records (`lib/telemetry/`). */
  trace?: SendTrace;
}

const NO_OPTIONS: Readonly<RpcRecordOptions> = Object.freeze({});

/**
 * The broker-agnostic client: correlation, timeouts, codec, streaming and errors.
 * An adapter connects, publishes what it is given, and feeds replies to `handleReply`.
 */
export abstract class RpcClient<TOptions extends RpcClientOptions = RpcClientOptions> extends ClientProxy<
  RpcEvents,
  // `string`, not RpcStatus: Nest's `customClass: Type<ClientProxy>` only accepts the default status type.
  string
> {
  protected readonly logger = new Logger(this.constructor.name);
  protected readonly pending = new PendingReplies<ActiveRequest>(
    (e) =>
      new RpcTimeoutError(e.pattern, e.correlationId, e.timeoutMs, Math.floor(monotonicNow() - e.startedAt)),
  );
  protected readonly events = new EventEmitter();
  protected readonly options: TOptions;
  /** What this client dropped or failed to deliver; `counters` reads them. */
  protected readonly counts = new RpcCounters<ClientCounter>(CLIENT_COUNTERS);
  private connection?: Promise<void>;
  private closing?: Promise<void>;
  private ready = false;
  // Correlation ids: a random per-client prefix plus a counter; unique across clients, cheap to make.
  private readonly idPrefix = randomBytes(8).toString('hex');
  private sequence = 0;
  private readonly telemetry: ClientTelemetry;

  constructor(options: TOptions) {
    super();
    checkTimeout('timeout', options?.timeout);
    checkTimeout('brokerCloseTimeout', options?.brokerCloseTimeout);
    this.options = { ...options };
    this.telemetry = new ClientTelemetry(this.options.telemetry, () => this.messagingSystem(), {
      clientId: this.idPrefix,
      pending: () => this.pending.size,
      counters: () => this.counts.snapshot(),
    });
  }

  /** `messaging.system` of spans and metrics (`nats`, `rabbitmq`, `kafka`); each adapter names its own. */
  protected messagingSystem(): string {
    return 'unknown';
  }

  /**
   * The calls this client makes, each with its destination, and its broker's bindings, for
   * `asyncApiDocument`. A client learns its patterns only as it sends, so the app names them.
   */
  describeAsyncApi(calls: { send?: readonly unknown[]; emit?: readonly unknown[] }): AsyncApiClientSide {
    const call = (isEvent: boolean) => (pattern: unknown) => ({
      pattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern),
      destination: toDestination(pattern, this.options.destination),
      isEvent,
      extras: {},
    });
    return {
      transport: this.asyncApiTransport(),
      calls: [...(calls.send ?? []).map(call(false)), ...(calls.emit ?? []).map(call(true))],
    };
  }

  /** Where this broker carries what, for the AsyncAPI document; each adapter describes its own. */
  protected asyncApiTransport(): AsyncApiTransport {
    return headerTransport({
      protocol: this.messagingSystem(),
      description: `${this.constructor.name}`,
      replyChannel: { address: null, description: "This client's reply address." },
      replyToMeans: "this client's reply address",
    });
  }

  /** Emits `connected`, `disconnected`, `reconnecting` (and `blocked`/`unblocked` on RabbitMQ). */
  override get status(): Observable<RpcStatus> {
    return super.status as Observable<RpcStatus>;
  }

  /** Connects once; concurrent and repeated calls share the same attempt. A failed attempt can be retried. */
  connect(): Promise<any> {
    if (!this.connection) {
      // A close still under way owns the adapter's handles: connect only once it is done.
      const closing = this.closing ?? Promise.resolve();
      const attempt = closing
        .then(() => this.telemetry.load())
        .then(() => this.connectTransport())
        .then(
          () => {
            if (this.connection !== attempt) return;
            this.telemetry.start();
            this.ready = true;
            this._status$.next('connected');
          },
          (err: unknown) => {
            if (this.connection === attempt) this.connection = undefined;
            throw RpcError.is(err)
              ? err
              : new RpcConnectionError(`Could not connect: ${describe(err)}`, { cause: err });
          },
        );
      this.connection = attempt;
    }
    return this.connection;
  }

  /** Fails every pending request with `RpcConnectionError`, then closes the connection. */
  close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.ready = false;
    this.pending.failAll((e) => new RpcConnectionError(`Client closed while "${e.pattern}" was pending`));
    this.telemetry.stopMetrics();
    const previous = this.closing ?? Promise.resolve();
    const closing = previous.then(async () => {
      if (connection) {
        await connection.catch(() => undefined);
        const wait = this.options.brokerCloseTimeout ?? DEFAULT_BROKER_CLOSE_TIMEOUT;
        if (!(await settledWithin(this.closeTransport(), wait))) {
          this.logger.warn(`The broker did not confirm the close within ${wait} ms; the connection was cut`);
          this.cutTransport();
        }
      }
      this._status$.next('disconnected');
    });
    this.closing = closing;
    void closing.finally(() => {
      if (this.closing === closing) this.closing = undefined;
    });
    return closing;
  }

  override on<K extends keyof RpcEvents>(event: K, callback: RpcEvents[K]): void {
    this.events.on(event, callback);
  }

  /** What this client dropped or could not deliver, by counter name (see `CLIENT_COUNTERS`). */
  get counters(): Readonly<Record<ClientCounter, number>> {
    return this.counts.snapshot();
  }

  /** Number of requests waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    return new Observable<TResult>((subscriber) => {
      let request: OutboundRequest;
      try {
        request = this.buildRequest(pattern, data);
      } catch (err) {
        subscriber.error(err);
        return;
      }
      const correlationId = `${this.idPrefix}${(this.sequence++).toString(36)}`;
      const entry: ActiveRequest = {
        correlationId,
        pattern: request.destination,
        startedAt: monotonicNow(),
        timeoutMs: request.options.timeout ?? this.options.timeout ?? DEFAULT_TIMEOUT,
        subscriber: subscriber as Subscriber<unknown>,
        withHeaders: request.options.withReplyHeaders === true,
        restartStream: request.options.restartStream ?? this.options.restartStreams === true,
        fail: (err) => {
          this.endTrace(entry, err);
          subscriber.error(err);
        },
      };
      request.correlationId = correlationId;
      stampDeadline(request.headers, entry.timeoutMs);
      this.pending.add(entry);
      if (this.ready) this.dispatchRequest(entry, request);
      else
        this.connect().then(
          () => this.dispatchRequest(entry, request),
          (err) => this.pending.fail(correlationId, err),
        );
      return () => {
        this.pending.settle(correlationId);
        if (entry.stream) this.cancelStreams(entry, true);
        this.endTrace(entry);
      };
    });
  }

  /** Nest's callback-style entry point; `send` does not go through it, but Nest's API requires it. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const subscription = this.send(packet.pattern, packet.data).subscribe({
      next: (response) => callback({ response }),
      error: (err) => callback({ err }),
      complete: () => callback({ isDisposed: true }),
    });
    return () => subscription.unsubscribe();
  }

  protected async dispatchEvent<T = any>(packet: ReadPacket): Promise<T> {
    const event = this.buildRequest(packet.pattern, packet.data, (packet as { metadata?: unknown }).metadata);
    if (event.options.replyTo !== undefined) {
      event.replyTo = toDestination(event.options.replyTo, this.options.destination);
      event.headers[Headers.replyMode] = 'event';
    }
    const trace = this.telemetry.begin(event.destination, undefined, event.headers, event.body.length);
    try {
      await this.publishEvent(event);
    } catch (err) {
      const error = this.toPublishError(err);
      if (trace) this.telemetry.end(trace, error);
      throw error;
    }
    if (trace) this.telemetry.end(trace);
    return undefined as T;
  }

  /**
   * Adapters call this for every message on the reply channel. Unknown, late and duplicate
   * replies find no pending entry and are dropped.
   */
  protected handleReply(correlationId: string, reply: InboundReply): void {
    const entry = this.pending.get(correlationId);
    if (!entry) {
      this.counts.increment('repliesDropped');
      this.logger.debug?.(`Dropped a reply for unknown correlation id ${correlationId}`);
      return;
    }
    if (!this.admitFrame(entry, reply)) return;
    const errorKind = reply.headers[Headers.error];
    if (errorKind !== undefined) {
      this.pending.settle(correlationId);
      const error = new RpcRemoteError(
        entry.pattern,
        errorKind as RpcRemoteErrorKind,
        safeDecode(reply),
        correlationId,
      );
      this.endTrace(entry, error);
      entry.subscriber.error(error);
      return;
    }
    const marker = reply.headers[Headers.stream];
    if (marker === 'end') {
      this.pending.settle(correlationId);
      this.endTrace(entry);
      entry.subscriber.complete();
      return;
    }
    let value: unknown;
    try {
      value = decode(reply.body, reply.contentType ?? reply.headers[Headers.contentType]);
      if (this.options.deserializer)
        value = this.options.deserializer.deserialize(value, { headers: reply.headers });
    } catch (err) {
      this.pending.settle(correlationId);
      const error = new RpcDecodeError(entry.pattern, correlationId, { cause: err });
      this.endTrace(entry, error);
      entry.subscriber.error(error);
      return;
    }
    const out = entry.withHeaders ? { data: value, headers: reply.headers } : value;
    if (marker === 'next') {
      this.pending.touch(correlationId);
      if (entry.trace) this.telemetry.streamValue(entry.trace);
      entry.subscriber.next(out);
    } else {
      this.pending.settle(correlationId);
      if (entry.trace) {
        if (entry.stream) this.telemetry.streamValue(entry.trace);
        this.endTrace(entry);
      }
      entry.subscriber.next(out);
      entry.subscriber.complete();
    }
  }

  /** Applies the stream-binding rule (`stream-binding.ts`) to a reply; false when it is not to be delivered. */
  private admitFrame(entry: ActiveRequest, reply: InboundReply): boolean {
    const h = reply.headers;
    if (!entry.stream && h[Headers.stream] !== 'next' && h[Headers.responder] === undefined) return true;
    const verdict = (entry.stream ??= new StreamBinding(entry.restartStream)).admit(h);
    this.cancelStreams(entry, false);
    switch (verdict.action) {
      case 'deliver':
        return true;
      case 'restart':
        this.counts.increment('streamsRestarted');
        return true;
      case 'drop':
        this.counts.increment(verdict.why === 'other' ? 'streamFramesDropped' : 'streamFramesDuplicate');
        return false;
      case 'fail':
        this.pending.settle(entry.correlationId);
        {
          const error =
            verdict.why === 'restarted'
              ? new RpcStreamRestartedError(entry.pattern, entry.correlationId)
              : new RpcStreamGapError(entry.pattern, entry.correlationId, verdict.expected, verdict.received);
          this.endTrace(entry, error);
          entry.subscriber.error(error);
        }
        return false;
    }
  }

  /** Tells servers to stop the streams this request will not read (all of them once the caller `left`). */
  private cancelStreams(entry: ActiveRequest, left: boolean): void {
    const cancels = entry.stream!.takeCancels(left);
    if (!cancels || !this.publishCancel) return;
    for (const [attempt, destination] of cancels) {
      const cancel: OutboundMessage = {
        destination,
        body: new Uint8Array(0),
        contentType: CONTENT_TYPE_JSON,
        headers: { [Headers.attempt]: attempt },
        correlationId: entry.correlationId,
      };
      try {
        void Promise.resolve(this.publishCancel(cancel)).catch(() => undefined);
        this.counts.increment('streamCancelsSent');
      } catch {
        // not connected: the server's maxStreamDuration bounds the stream instead
      }
    }
  }

  /** Adapters call this when the broker says a request cannot be delivered or its reply channel died. */
  protected failRequest(correlationId: string, error: (entry: ActiveRequest) => Error): void {
    const entry = this.pending.settle(correlationId);
    entry?.fail(error(entry));
  }

  protected emitStatus(status: RpcStatus, ...args: unknown[]): void {
    if (status === 'reconnecting') this.counts.increment('reconnects');
    this._status$.next(status);
    this.events.emit(status, ...args);
  }

  /** Marks the client as needing `connect()` again, e.g. after the connection closed for good. */
  protected resetConnection(): void {
    this.connection = undefined;
    this.ready = false;
  }

  private dispatchRequest(entry: ActiveRequest, request: OutboundRequest): void {
    if (this.pending.get(entry.correlationId) !== entry) return; // unsubscribed while connecting
    // here, not in send(): the API is loaded once connected; the caller's context still is the active one
    entry.trace = this.telemetry.begin(
      request.destination,
      entry.correlationId,
      request.headers,
      request.body.length,
    );
    try {
      const published = this.publishRequest(request, entry);
      if (published)
        published.catch((err) => this.pending.fail(entry.correlationId, this.toPublishError(err)));
    } catch (err) {
      this.pending.fail(entry.correlationId, this.toPublishError(err));
    }
  }

  /** Ends a request's span and records its duration, once. */
  private endTrace(entry: ActiveRequest, error?: unknown): void {
    const trace = entry.trace;
    if (!trace) return;
    entry.trace = undefined;
    this.telemetry.end(trace, error);
  }

  private buildRequest(pattern: unknown, data: unknown, metadata?: unknown): OutboundRequest {
    const record = RpcRecord.is(data) ? data : undefined;
    const payload = record ? record.data : data;
    const destination = toDestination(pattern, this.options.destination);
    const { body, contentType } = encode(
      this.options.serializer
        ? this.options.serializer.serialize(payload, { pattern: destination })
        : payload,
    );
    checkTimeout('timeout', record?.options.timeout);
    const headers = userHeaders(record?.options.headers);
    if (metadata === undefined) metadata = this.dispatchMetadata(pattern, payload);
    if (metadata && typeof metadata === 'object') {
      for (const [name, value] of Object.entries(metadata))
        if (typeof value === 'string' && !RESERVED_HEADERS.has(name)) headers[name] = value;
    }
    return { destination, body, contentType, headers, options: record?.options ?? NO_OPTIONS };
  }

  /** Runs Nest's dispatch hook (Nest 12) so instrumentation can attach metadata; it travels as headers. */
  private dispatchMetadata(pattern: unknown, data: unknown): unknown {
    if (!this.onDispatchHook) return undefined;
    const packet: ReadPacket & { metadata?: unknown } = { pattern, data };
    this.onDispatchHook(packet);
    return packet.metadata;
  }

  private toPublishError(err: unknown): Error {
    return RpcError.is(err)
      ? err
      : new RpcConnectionError(`Could not publish: ${describe(err)}`, { cause: err });
  }

  /** Opens the connection and the reply channel. Resolves once replies can be received. */
  protected abstract connectTransport(): Promise<void>;
  /** Closes the connection. Pending requests have been failed already. */
  protected abstract closeTransport(): Promise<void>;
  /**
   * `closeTransport` got no answer from the broker within `brokerCloseTimeout`: end the connection at
   * once, without it. Default: nothing (the client library's own timeouts end it).
   */
  protected cutTransport(): void {}
  /** Publishes a request whose replies must reach `handleReply(entry.correlationId, …)`. */
  protected abstract publishRequest(request: OutboundRequest, entry: ActiveRequest): void | Promise<void>;
  /** Publishes an event (no reply expected here; `replyTo` set for reply-elsewhere). */
  protected abstract publishEvent(event: OutboundRequest): Promise<void>;
  /** Publishes a stream cancel message to the address a server named (`rpc-cancel-to`); optional. */
  protected publishCancel?(cancel: OutboundMessage): void | Promise<void>;
}

function safeDecode(reply: InboundReply): unknown {
  try {
    return decode(reply.body, reply.contentType ?? reply.headers[Headers.contentType]);
  } catch {
    return { message: Buffer.from(reply.body).toString('utf8') };
  }
}
