import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { type MessageHandler, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { CONTENT_TYPE_JSON, decode, encode } from './codec.js';
import { afterAtLeast } from './clock.js';
import { settledWithin } from './broker-close.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { RpcCounters, SERVER_COUNTERS, type ServerCounter } from './counters.js';
import { DeadlineCheck } from './deadline.js';
import { RpcConnectionError, RpcError, type RpcRemoteErrorKind } from './errors.js';
import {
  DEFAULT_BROKER_CLOSE_TIMEOUT,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_STREAM_DURATION,
  checkTimeout,
  type RpcServerOptions,
} from './options.js';
import { parseHandlerKey, toDestination } from './patterns.js';
import { RpcResponse } from './record-builder.js';
import { quote } from './log-throttle.js';
import { ReplyPolicy, type ReplyMode } from './reply-policy.js';
import { type ReplyFrame, streamReplies } from './reply-stream.js';
import {
  NOT_HANDLED_AT_CLOSE,
  ServerShuttingDown,
  ShutdownControl,
  STREAM_STOPPED_AT_CLOSE,
} from './shutdown.js';
import type { RpcContext } from './rpc-context.js';
import { RunningStreams } from './running-streams.js';
import { describe } from './describe.js';
import type { RpcEvents, RpcStatus } from './status.js';
import { ServerTelemetry } from '../telemetry/server-telemetry.js';
import type { TelemetryAttributes } from '../telemetry/telemetry-options.js';
import type { AsyncApiServerSide } from '../asyncapi/asyncapi-document.js';
import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { headerTransport } from '../asyncapi/header-transport.js';
import { type HeaderMap, Headers, type InboundMessage, type OutboundMessage, userHeaders } from './wire.js';

/** A registered handler and the destination it listens on. */
export interface Route {
  /** Nest's key for the handler (the pattern, objects as JSON). */
  pattern: string;
  /** Where it listens: subject, topic, queue or routing key. */
  destination: string;
  isEvent: boolean;
  /** The third argument of `@MessagePattern` / `@EventPattern`: per-handler transport options. */
  extras: Record<string, any>;
}

/**
 * What `dispatch` did with a message: `rejected` when it could not be handled and no error reply
 * went out (undecodable, or no handler, and no reply address), so an adapter may dead-letter it;
 * `failed` when a handler that sends no reply (an event's) threw or errored, so an adapter may retry
 * or dead-letter it (logged and counted in `eventsFailed` already); `refused` when its handler never
 * started because the server was closing (`refuseAtClose` ran), so an adapter leaves it to the broker
 * to redeliver; `handled` otherwise (replied, or ran an event handler).
 */
export type DispatchOutcome = 'handled' | 'rejected' | 'failed' | 'refused';

type ProcessingStartHook = (transportId: unknown, context: unknown, done: () => Promise<void>) => void;

const INTERNAL_ERROR = Object.freeze({ status: 'error', message: 'Internal server error' });
const EMPTY = new Uint8Array(0);

/**
 * The broker-agnostic server: decoding, handler dispatch through Nest's pipeline, replies,
 * streaming, errors, concurrency and graceful close. An adapter subscribes to the routes,
 * calls `dispatch` for each message, and publishes what `publishReply` is given.
 */
export abstract class RpcServer<
  TOptions extends RpcServerOptions = RpcServerOptions,
  TContext extends RpcContext = RpcContext,
> extends Server<RpcEvents, RpcStatus> {
  protected override readonly logger = new Logger(this.constructor.name);
  protected readonly events = new EventEmitter();
  protected readonly options: TOptions;
  protected readonly limit: ConcurrencyLimit;
  /** What this server dropped, refused or could not deliver; `counters` reads them. */
  protected readonly counts = new RpcCounters<ServerCounter>(SERVER_COUNTERS);
  private readonly replyPolicy: ReplyPolicy;
  private requestDestinations?: ReadonlySet<string>;
  /** Streams in flight: frame stamps, cancel messages (`streams.cancel`), `maxStreamDuration`. */
  protected readonly streams = new RunningStreams(this.counts);
  private readonly deadlines: DeadlineCheck;
  private readonly telemetry: ServerTelemetry;
  private readonly work = new ShutdownControl();
  private closing?: Promise<void>;
  private starting?: Promise<void>;
  /** Whether processing hooks were set (Nest 12); until then messages skip them. */
  private hooked = false;
  /** Refusing messages since the last one that found room (logged once per overload). */
  private overloaded = false;

  constructor(options: TOptions) {
    super();
    checkTimeout('closeTimeout', options?.closeTimeout);
    checkTimeout('brokerCloseTimeout', options?.brokerCloseTimeout);
    checkTimeout('maxStreamDuration', options?.maxStreamDuration);
    this.options = { ...options };
    this.limit = new ConcurrencyLimit(
      this.options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
      this.options.maxQueued ?? DEFAULT_MAX_QUEUED,
    );
    this.replyPolicy = new ReplyPolicy(
      this.options.replyTo,
      (text) => this.logger.warn(text),
      () => this.counts.increment('replyAddressesRefused'),
    );
    this.deadlines = new DeadlineCheck(
      this.options.deadlineGrace,
      (line) => this.logger.warn(line),
      () => this.counts.increment('requestsExpired'),
    );
    this.telemetry = new ServerTelemetry(this.options.telemetry, () => this.messagingSystem(), {
      serverId: this.streams.instance,
      running: () => this.limit.active,
      queued: () => this.limit.queued,
      counters: () => this.counts.snapshot(),
    });
  }

  /** `messaging.system` of spans and metrics (`nats`, `rabbitmq`, `kafka`); each adapter names its own. */
  protected messagingSystem(): string {
    return 'unknown';
  }

  /**
   * Broker-specific span attributes of one message (Kafka partition, offset, key and group; RabbitMQ
   * routing key; NATS queue group), read only while tracing records. Default: none.
   */
  protected telemetryAttributes(
    _message: InboundMessage,
    _context: TContext,
  ): TelemetryAttributes | undefined {
    return undefined;
  }

  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    if (this.closing)
      return callback(new RpcConnectionError('The server was closed before it started listening'));
    try {
      await this.telemetry.load();
      this.starting = this.startTransport(this.routes());
      await this.starting;
      this.telemetry.start();
      this._status$.next('connected');
    } catch (err) {
      return callback(
        RpcError.is(err) ? err : new RpcConnectionError(`Could not start: ${describe(err)}`, { cause: err }),
      );
    }
    callback();
  }

  /**
   * `close()` was called while `startTransport` is still under way: an adapter stops whatever waits
   * there that need not be waited for any more, so that closing does not wait for it.
   */
  protected abortStart(): void {}

  /** Stops taking requests, waits for in-flight handlers up to `closeTimeout`, then closes the connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  override on<K extends keyof RpcEvents>(event: K, callback: RpcEvents[K]): void {
    this.events.on(event, callback);
  }

  /** What this server dropped, refused or could not deliver, by counter name (see `SERVER_COUNTERS`). */
  get counters(): Readonly<Record<ServerCounter, number>> {
    return this.counts.snapshot();
  }

  /** This server's handlers and its broker's bindings, for `asyncApiDocument`. Handlers register at `app.init()`. */
  describeAsyncApi(): AsyncApiServerSide {
    const handlers = this.routes().map(({ pattern, destination, isEvent, extras }) => ({
      pattern,
      destination,
      isEvent,
      extras,
    }));
    return { transport: this.asyncApiTransport(), handlers };
  }

  /** Where this broker carries what, for the AsyncAPI document; each adapter describes its own. */
  protected asyncApiTransport(): AsyncApiTransport {
    return headerTransport({
      protocol: this.messagingSystem(),
      description: `${this.constructor.name}`,
      replyChannel: { address: null, description: "The request's reply address." },
      replyToMeans: 'the reply address',
    });
  }

  /** The routes to listen on, one per handler. Throws for a pattern that maps to no destination. */
  protected routes(): Route[] {
    return [...this.messageHandlers].map(([pattern, handler]) => ({
      pattern,
      destination: toDestination(parseHandlerKey(pattern), this.options.destination),
      isEvent: handler.isEventHandler === true,
      extras: handler.extras ?? {},
    }));
  }

  protected get isClosing(): boolean {
    return this.closing !== undefined;
  }

  protected emitStatus(status: RpcStatus, ...args: unknown[]): void {
    if (status === 'reconnecting') this.counts.increment('reconnects');
    this._status$.next(status);
    this.events.emit(status, ...args);
  }

  /**
   * Handles one message: resolves once its handler settled and every reply was handed to
   * `publishReply`, so adapters can ack or commit after it. Never rejects.
   */
  protected dispatch(message: InboundMessage, context: TContext): Promise<void> {
    return this.dispatchWithOutcome(message, context).then(() => undefined);
  }

  /** `dispatch`, telling what became of the message (to dead-letter a rejected one, say). Never rejects. */
  protected dispatchWithOutcome(message: InboundMessage, context: TContext): Promise<DispatchOutcome> {
    // A request nobody waits for any more does not run: checked on arrival and again when it leaves the queue.
    if (this.deadlines.passed(message)) return Promise.resolve('handled');
    return this.limit
      .run(
        () =>
          this.deadlines.passed(message)
            ? Promise.resolve('handled' as const)
            : this.telemetry.process(
                message,
                () => this.telemetryAttributes(message, context),
                () => this.withProcessingHooks(context, () => this.process(message, context)),
              ),
        () => this.turnAway(message, context),
      )
      .catch((err) => {
        this.logger.error(
          `Unexpected failure handling a message on "${message.destination}": ${describe(err)}`,
        );
        return 'handled' as const;
      });
  }

  /**
   * `dispatchWithOutcome`, except that a message arriving while `maxQueued` others wait is refused at
   * once: a request gets an `overloaded` error reply, an event is dropped; both are counted in
   * `requestsRefused`. For brokers that neither hold messages back nor redeliver them (core NATS,
   * RabbitMQ with `noAck`), where waiting without a bound would grow the heap without one.
   */
  protected dispatchOrRefuse(message: InboundMessage, context: TContext): Promise<DispatchOutcome> {
    if (!this.limit.full) {
      this.overloaded = false;
      return this.dispatchWithOutcome(message, context);
    }
    return this.refuse(message, context);
  }

  private async refuse(message: InboundMessage, context: TContext): Promise<DispatchOutcome> {
    this.counts.increment('requestsRefused');
    if (!this.overloaded) {
      this.overloaded = true; // one line per overload, not one per refused message
      this.logger.warn(
        `Overloaded: ${this.limit.maxQueued} requests wait for a handler; refusing more (counter requestsRefused)`,
      );
    }
    const handler = this.messageHandlers.get(message.pattern);
    if (message.replyTo === undefined || handler?.isEventHandler === true) return 'rejected';
    await this.replyError(message, context, 'overloaded', {
      status: 'error',
      message: `The server is overloaded (${this.limit.maxQueued} requests wait for a handler); try again later`,
    });
    return 'handled';
  }

  /** Counts a message turned away at close and hands it to `refuseAtClose` once intake has stopped. */
  private async turnAway(message: InboundMessage, context: TContext): Promise<DispatchOutcome> {
    this.counts.increment('refusedAtClose');
    await this.work.refuse(() => this.refuseAtClose(message, context));
    return 'refused';
  }

  /**
   * A message whose handler had not started when `close()` was called (it waited behind
   * `maxConcurrency`, or arrived since) is turned away: its handler never runs. By default it is
   * answered with a `shutting-down` error reply, so that its caller can retry at once, for brokers
   * where nothing would redeliver it. An adapter whose broker redelivers overrides this (requeue,
   * or leave it uncommitted: `dispatch` resolves with `refused`). Called once intake has stopped.
   */
  protected refuseAtClose(message: InboundMessage, context: TContext): void | Promise<void> {
    const handler = this.messageHandlers.get(message.pattern);
    const answerable =
      message.replyTo !== undefined &&
      handler?.isEventHandler !== true &&
      message.headers[Headers.replyMode] !== 'event';
    if (answerable) return this.replyError(message, context, 'shutting-down', NOT_HANDLED_AT_CLOSE);
  }

  override setOnProcessingStartHook(hook: Parameters<Server['setOnProcessingStartHook']>[0]): void {
    this.hooked = true;
    super.setOnProcessingStartHook(hook);
  }

  override setOnProcessingEndHook(hook: Parameters<Server['setOnProcessingEndHook']>[0]): void {
    this.hooked = true;
    super.setOnProcessingEndHook(hook);
  }

  /**
   * Runs Nest's processing hooks (`setOnProcessingStartHook`/`EndHook`, Nest 12; tracing uses them)
   * around one message, replies included. Nest 11 has none, and then this costs nothing.
   */
  private withProcessingHooks<T>(context: TContext, work: () => Promise<T>): Promise<T> {
    if (!this.hooked) return work(); // Nest's default start hook only calls done(): skip the wrapping
    const start = this.onProcessingStartHook as ProcessingStartHook | undefined;
    const end = this.onProcessingEndHook as ((id: unknown, ctx: unknown) => void) | undefined;
    return new Promise<T>((resolve, reject) => {
      const run = async () => {
        try {
          resolve(await work());
        } catch (err) {
          reject(err);
        } finally {
          end?.(this.transportId, context);
        }
      };
      if (start) start(this.transportId, context, run);
      else void run();
    });
  }

  private async process(message: InboundMessage, context: TContext): Promise<DispatchOutcome> {
    const handler = this.messageHandlers.get(message.pattern);
    const expectsReply = message.replyTo !== undefined && handler?.isEventHandler !== true;
    if (expectsReply && !this.replyPolicy.admits(message, (a, m) => this.isOwnRequestDestination(a, m))) {
      this.telemetry.failed(message, 'reply-address-refused');
      return 'rejected';
    }
    if (!handler) {
      const text = `There is no handler for "${message.destination}"`;
      if (!expectsReply) {
        this.telemetry.failed(message, 'no-handler');
        this.logger.warn(text);
        return 'rejected';
      }
      await this.replyError(message, context, 'no-handler', { status: 'error', message: text });
      return 'handled';
    }
    let data: unknown;
    let deserializing = false;
    try {
      data = decode(message.body, message.contentType ?? message.headers[Headers.contentType]);
      deserializing = true;
      if (this.options.deserializer)
        data = this.options.deserializer.deserialize(data, { channel: message.destination });
    } catch (err) {
      const text = `Could not decode the message on "${message.destination}"`;
      const detail = `${text}: ${describe(err)}`;
      if (!expectsReply) {
        this.telemetry.failed(message, 'bad-request');
        this.logger.warn(`${detail}; dropped`);
        return 'rejected';
      }
      // The codec's words describe the caller's own body; a deserializer's may say anything: logged, not sent.
      if (deserializing) this.logger.warn(detail);
      const sent = deserializing ? text : detail;
      await this.replyError(message, context, 'bad-request', { status: 'error', message: sent });
      return 'handled';
    }
    if (!expectsReply) return this.runWithoutReply(handler, message, data, context);

    let result: unknown;
    try {
      result = await handler(data, context);
    } catch (err) {
      await this.replyError(message, context, ...this.classify(err));
      return 'handled';
    }
    // A plain value (a promise is settled by now) is the request's only reply: what `streamReplies`
    // makes of `of(value)`, without the Observable, the stream tracking and the frame chain per request.
    if (!isObservable(result)) {
      await this.sendFrame(message, context, { type: 'value', value: result, final: true }).catch(
        () => undefined,
      );
      return 'handled';
    }
    const stream$: Observable<unknown> = result;
    const eventMode = message.headers[Headers.replyMode] === 'event';
    const run = this.streams.start(
      message,
      eventMode,
      this.options.maxStreamDuration ?? DEFAULT_MAX_STREAM_DURATION,
    );
    try {
      await this.work.track(stream$, (cuttable$) =>
        streamReplies(cuttable$, (frame) => this.sendFrame(message, context, frame), eventMode, run),
      );
    } finally {
      run.end();
    }
    return 'handled';
  }

  private async runWithoutReply(
    handler: MessageHandler,
    message: InboundMessage,
    data: unknown,
    context: TContext,
  ): Promise<DispatchOutcome> {
    try {
      const result = await handler(data, context);
      await this.work.track(this.transformToObservable(result), (cuttable$) =>
        lastValueFrom(cuttable$, { defaultValue: undefined }),
      );
      return 'handled';
    } catch (err) {
      this.counts.increment('eventsFailed');
      this.telemetry.failed(message, 'handler-failed');
      this.logger.error(`Handler for "${message.destination}" failed: ${describe(err)}`);
      return 'failed';
    }
  }

  private async sendFrame(message: InboundMessage, context: TContext, frame: ReplyFrame): Promise<void> {
    if (frame.type === 'error')
      return frame.kind
        ? this.replyError(message, context, frame.kind, frame.error)
        : this.replyError(message, context, ...this.classify(frame.error));
    const headers: HeaderMap = {};
    let reply: OutboundMessage;
    if (frame.type === 'end') {
      headers[Headers.stream] = 'end';
      reply = this.reply(message, EMPTY, CONTENT_TYPE_JSON, headers);
    } else {
      let value = frame.value;
      if (RpcResponse.is(value)) {
        Object.assign(headers, userHeaders(value.options.headers));
        value = value.data;
      }
      if (!frame.final) headers[Headers.stream] = 'next';
      this.telemetry.streamValue(message, frame.final);
      try {
        const { body, contentType } = encode(
          this.options.serializer ? this.options.serializer.serialize(value) : value,
        );
        reply = this.reply(message, body, contentType, headers);
      } catch (err) {
        this.logger.error(`Could not encode the reply for "${message.destination}": ${describe(err)}`);
        return this.replyError(message, context, 'internal', INTERNAL_ERROR);
      }
    }
    await this.publish(reply, message, context);
  }

  /** Publishes an error reply of `kind` to the message's reply address (a reply-elsewhere request: logged). */
  protected async replyError(
    message: InboundMessage,
    context: TContext,
    kind: RpcRemoteErrorKind,
    payload: unknown,
  ) {
    this.telemetry.failed(message, kind);
    if (message.headers[Headers.replyMode] === 'event')
      return this.dropElsewhereError(message, kind, payload);
    let encoded;
    try {
      encoded = encode(payload);
    } catch {
      encoded = encode(INTERNAL_ERROR);
    }
    const reply = this.reply(message, encoded.body, encoded.contentType, { [Headers.error]: kind });
    await this.publish(reply, message, context, true);
  }

  private reply(
    message: InboundMessage,
    body: Uint8Array,
    contentType: string,
    headers: HeaderMap,
  ): OutboundMessage {
    return {
      destination: message.replyTo!,
      body,
      contentType,
      headers,
      correlationId: message.correlationId,
    };
  }

  private async publish(reply: OutboundMessage, message: InboundMessage, context: TContext, isError = false) {
    this.streams.stamp(message, reply.headers);
    try {
      await this.publishReply(reply, message, context);
    } catch (err) {
      if (!isError && RpcError.is(err, 'RPC_PAYLOAD_TOO_LARGE')) {
        this.streams.retract(message);
        return this.replyError(message, context, 'too-large', { status: 'error', message: err.message });
      }
      this.counts.increment('replyPublishFailures');
      this.logger.error(`Could not publish the reply to "${reply.destination}": ${describe(err)}`);
    }
  }

  /** Reply-elsewhere addresses take results, as events: an error published there would pass for data. */
  private dropElsewhereError(message: InboundMessage, kind: RpcRemoteErrorKind, payload: unknown): void {
    this.counts.increment('replyElsewhereErrors');
    const text = (payload as { message?: unknown } | null)?.message;
    this.logger.warn(
      `Reply-elsewhere request on "${message.destination}" failed (${kind}${typeof text === 'string' ? `: ${quote(text)}` : ''}); nothing is published to ${quote(message.replyTo!)}`,
    );
  }

  /**
   * Whether a reply published to `address` would reach one of this server's own request handlers (a
   * reply loop). Default: `address` is a request handler's destination; an adapter whose broker routes
   * by wildcard or through an exchange answers for its broker.
   */
  protected isOwnRequestDestination(address: string, _mode: ReplyMode): boolean {
    this.requestDestinations ??= new Set(
      this.routes()
        .filter((r) => !r.isEvent)
        .map((r) => r.destination),
    );
    return this.requestDestinations.has(address);
  }

  /** Nest's exception filter turns `RpcException` into its payload and anything else into INTERNAL_ERROR. */
  private classify(err: unknown): [RpcRemoteErrorKind, unknown] {
    if (err instanceof ServerShuttingDown) return ['shutting-down', STREAM_STOPPED_AT_CLOSE];
    if (err instanceof Error) {
      this.logger.error(err);
      return ['internal', INTERNAL_ERROR];
    }
    const e = err as { status?: unknown; message?: unknown } | null;
    if (e?.status === INTERNAL_ERROR.status && e.message === INTERNAL_ERROR.message)
      return ['internal', INTERNAL_ERROR];
    return ['exception', err];
  }

  private async shutdown(): Promise<void> {
    this.limit.close(); // no handler starts from now on: queued and newly arriving messages are turned away
    // Closing while listen() is still starting: let it finish so that what it opens gets closed.
    if (this.starting) this.abortStart();
    await this.starting?.catch(() => undefined);
    const brokerWait = this.options.brokerCloseTimeout ?? DEFAULT_BROKER_CLOSE_TIMEOUT;
    const stopping = this.stopIntake();
    if (!(await settledWithin(stopping, brokerWait)))
      this.logger.warn(`The broker did not confirm the end of intake within ${brokerWait} ms; closing on`);
    this.work.stoppedIntake();
    const timeout = this.options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    let cancel: (() => void) | undefined;
    const drained = await Promise.race([
      this.limit.idle().then(() => true),
      new Promise<boolean>((resolve) => (cancel = afterAtLeast(timeout, () => resolve(false)))),
    ]);
    cancel?.();
    if (!drained) {
      const cut = await this.work.cutStreams();
      this.logger.warn(
        `Closing after ${timeout} ms with ${this.limit.load} handler(s) still running; ${cut} stream(s) stopped with a shutting-down error`,
      );
    }
    await this.work.refused();
    if (!(await settledWithin(this.closeTransport(), brokerWait))) {
      this.logger.warn(
        `The broker did not confirm the close within ${brokerWait} ms; the connection was cut`,
      );
      this.cutTransport();
    }
    this.telemetry.stopMetrics();
    this._status$.next('disconnected');
  }

  /** Subscribes to every route. Resolves once messages flow. */
  protected abstract startTransport(routes: Route[]): Promise<void>;
  /** Stops taking new messages; in-flight ones still reply. */
  protected abstract stopIntake(): Promise<void>;
  /** Closes the connection. */
  protected abstract closeTransport(): Promise<void>;
  /**
   * `closeTransport` got no answer from the broker within `brokerCloseTimeout`: end the connection at
   * once, without it. Default: nothing (the client library's own timeouts end it).
   */
  protected cutTransport(): void {}
  /** Publishes a reply to `reply.destination`, carrying `reply.correlationId` where the broker expects it. */
  protected abstract publishReply(
    reply: OutboundMessage,
    request: InboundMessage,
    context: TContext,
  ): void | Promise<void>;
}
