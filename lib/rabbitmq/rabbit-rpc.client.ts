import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { rabbitClientAsyncApi } from './rabbit-asyncapi.js';
import type {
  Channel,
  ChannelModel,
  ConfirmChannel,
  ConsumeMessage,
  Message,
  Options,
  RecoveringChannelModel,
} from 'amqplib';
import {
  RpcConnectionError,
  RpcNoRespondersError,
  RpcNotConfirmedError,
  RpcPayloadTooLargeError,
} from '../core/errors.js';
import { DEFAULT_PROTOCOL, DEFAULT_TIMEOUT } from '../core/options.js';
import { encodeNestRequest, readNestReply } from '../core/nest-envelope.js';
import { afterAtLeast, monotonicNow } from '../core/clock.js';
import { toBuffer } from '../core/bytes.js';
import { checkPositiveInt } from '../core/integer-checks.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../core/rpc-client.js';
import type { OutboundMessage } from '../core/wire.js';
import { RabbitSession } from './rabbit-session.js';
import { readHeaders, shortString } from './rabbit-headers.js';
import { publishMessage, type PublishProperties } from './rabbit-publish.js';
import {
  DEFAULT_RABBIT_MAX_MESSAGE_SIZE,
  DIRECT_REPLY_TO,
  type RabbitRpcClientOptions,
  type ResolvedExchange,
  resolveExchange,
} from './rabbit-rpc.options.js';
import { declareTopology } from './rabbit-topology.js';

/**
 * RabbitMQ transport client. One channel publishes every request and consumes the replies
 * (direct reply-to needs both on the same channel); the AMQP `correlationId` carries the core's
 * correlation id and `expiration` the time left, so the broker drops requests nobody waits for.
 * Requests are published `mandatory`: an unroutable one comes back at once as `RpcNoRespondersError`.
 * Events go on a second channel in confirm mode: `emit()` resolves once the broker has the event
 * (for a persistent event on a durable queue: written to disk). Requests need no confirms (their
 * reply, or their timeout, tells), so they stay on the plain channel, which is cheaper.
 */
export class RabbitRpcClient extends RpcClient<RabbitRpcClientOptions> {
  private readonly session = new RabbitSession();
  private replyTo = DIRECT_REPLY_TO;
  private readonly exchange?: ResolvedExchange;
  private readonly maxMessageSize: number;
  /** The confirm-mode channel events are published on, beside the request channel. */
  private eventChannel?: ConfirmChannel;
  /** Events published and not confirmed yet: `close()` waits for them before closing the channel. */
  private readonly unconfirmed = new Set<Promise<void>>();
  /** `protocol: 'nest'`: the Nest `ServerRMQ`'s queue every request and event goes to, in its envelope. */
  private readonly nestQueue?: string;
  constructor(options: RabbitRpcClientOptions = {}) {
    super(options);
    checkPositiveInt('maxMessageSize', options.maxMessageSize);
    this.exchange = resolveExchange(options.exchange);
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_RABBIT_MAX_MESSAGE_SIZE;
    if ((options.protocol ?? DEFAULT_PROTOCOL) === 'nest') {
      if (!options.nestQueue)
        throw new TypeError(
          "RabbitRpcClient: protocol 'nest' needs `nestQueue`, the queue the Nest ServerRMQ consumes",
        );
      if (this.exchange)
        throw new TypeError("RabbitRpcClient: protocol 'nest' publishes to `nestQueue`; drop `exchange`");
      this.nestQueue = options.nestQueue;
    }
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    // a private reply queue has its name once connected
    const replyQueue =
      this.replyTo !== DIRECT_REPLY_TO ? this.replyTo : this.options.replyQueue || DIRECT_REPLY_TO;
    return rabbitClientAsyncApi(this.exchange, replyQueue, this.options.persistent === true);
  }

  protected override messagingSystem(): string {
    return 'rabbitmq';
  }

  /** The amqplib connection (a `RecoveringChannelModel` unless `reconnect: false`). */
  unwrap<T = RecoveringChannelModel | ChannelModel>(): T {
    if (!this.session.link?.raw) throw new Error('Not initialized. Please call the "connect" method first.');
    return this.session.link.raw as T;
  }

  /** The reply address requests carry: `amq.rabbitmq.reply-to` or the private reply queue's name. */
  get replyQueue(): string {
    return this.replyTo;
  }

  protected connectTransport(): Promise<void> {
    return this.session.open(
      this.options,
      {
        setup: (model) => this.setup(model),
        dropChannel: () => this.dropChannel(),
        emitStatus: (status, ...args) => this.emitStatus(status, ...args),
        gaveUp: () => {
          this.session.link = undefined;
          this.resetConnection();
        },
      },
      this.logger,
    );
  }

  protected async closeTransport(): Promise<void> {
    await Promise.allSettled([...this.unconfirmed]);
    const events = this.eventChannel;
    this.eventChannel = undefined;
    await events?.close().catch(() => undefined);
    await this.session.close();
  }

  protected override cutTransport(): void {
    this.session.cut();
  }

  protected publishRequest(request: OutboundRequest, entry: ActiveRequest): void | Promise<void> {
    if (this.nestQueue) request = this.inEnvelope(request, entry.correlationId);
    this.checkSize(request);
    if (this.session.gate.open) return this.sendRequest(request, entry);
    return this.sendWhenOpen(request, entry);
  }

  /**
   * Waits while the channel's buffer is full or the connection blocked, then sends; gives up as soon
   * as the request is over (timed out, unsubscribed, failed), so that a long alarm does not keep the
   * body and subscriber of every request that timed out meanwhile.
   */
  private async sendWhenOpen(request: OutboundRequest, entry: ActiveRequest): Promise<void> {
    const gate = this.session.gate;
    let over = false;
    let cancel: (() => void) | undefined;
    entry.subscriber.add(() => {
      over = true;
      cancel?.();
    });
    while (!gate.open && !over) {
      this.requireChannel();
      const wait = gate.cancellableWait();
      cancel = wait.cancel;
      await wait.promise;
    }
    cancel = undefined;
    if (over) this.counts.increment('requestsDroppedUnsent');
    else if (this.pending.get(entry.correlationId) === entry) this.sendRequest(request, entry);
  }

  /** Resolves once the broker confirmed the event; the emit's timeout bounds the wait for the gate and the confirm together. */
  protected async publishEvent(event: OutboundRequest): Promise<void> {
    if (this.nestQueue) event = this.inEnvelope(event);
    this.checkSize(event);
    const timeoutMs = event.options.timeout ?? this.options.timeout ?? DEFAULT_TIMEOUT;
    const startedAt = monotonicNow();
    if (!this.session.gate.open) await this.waitUntilOpen(event, timeoutMs);
    const left = timeoutMs > 0 ? Math.max(1, Math.ceil(timeoutMs - (monotonicNow() - startedAt))) : 0;
    const confirmed = this.publishConfirmed(event, left);
    this.unconfirmed.add(confirmed);
    try {
      await confirmed;
    } finally {
      this.unconfirmed.delete(confirmed);
    }
  }

  private publishConfirmed(event: OutboundRequest, timeoutMs: number): Promise<void> {
    const ch = this.eventChannel;
    if (!this.session.channel || !ch)
      throw new RpcConnectionError('Not connected to RabbitMQ (the connection is being recovered)');
    const options: Options.Publish = {
      ...(this.nestQueue ? {} : { contentType: event.contentType }),
      headers: event.headers,
      mandatory: true,
      persistent: this.options.persistent === true,
    };
    if (event.replyTo !== undefined) options.replyTo = event.replyTo;
    const pattern = event.destination;
    const routingKey = this.nestQueue ?? pattern;
    const body = toBuffer(event.body);
    return new Promise<void>((resolve, reject) => {
      let cancel: (() => void) | undefined;
      const ok = ch.publish(this.exchange?.name ?? '', routingKey, body, options, (err) => {
        cancel?.();
        if (!err) return resolve();
        reject(
          err.message === 'message nacked'
            ? new RpcNotConfirmedError(
                pattern,
                'nacked',
                `The broker refused the event for "${pattern}" (nack)`,
              )
            : new RpcNotConfirmedError(
                pattern,
                'lost',
                `The channel closed before the broker confirmed the event for "${pattern}"; it may or may not have it`,
                { cause: err },
              ),
        );
      });
      if (!ok) this.session.gate.fill();
      if (timeoutMs > 0)
        cancel = afterAtLeast(timeoutMs, () =>
          reject(
            new RpcNotConfirmedError(
              pattern,
              'timeout',
              `The broker did not confirm the event for "${pattern}" within ${timeoutMs} ms; it may or may not have it`,
            ),
          ),
        );
    });
  }

  protected override publishCancel(cancel: OutboundMessage): void {
    // the default exchange routes it to the server's private cancel queue; gone with the server, it is dropped
    this.requireChannel().publish('', cancel.destination, toBuffer(cancel.body), {
      contentType: cancel.contentType,
      headers: cancel.headers,
      ...(cancel.correlationId !== undefined ? { correlationId: cancel.correlationId } : {}),
    });
  }

  private sendRequest(request: OutboundRequest, entry: ActiveRequest): void {
    const ch = this.requireChannel();
    const options: PublishProperties = {
      correlationId: entry.correlationId,
      replyTo: this.replyTo,
      contentType: this.nestQueue ? undefined : request.contentType,
      headers: request.headers,
      mandatory: true,
      persistent: this.options.persistent === true,
    };
    if (entry.timeoutMs > 0) {
      const left = Math.ceil(entry.timeoutMs - (monotonicNow() - entry.startedAt));
      if (left <= 0) return; // its timeout fires now; nobody would read the reply
      options.expiration = String(left);
    }
    const routingKey = this.nestQueue ?? request.destination;
    if (!publishMessage(ch, this.exchange?.name ?? '', routingKey, toBuffer(request.body), options))
      this.session.gate.fill();
  }

  /**
   * Waits while the channel's buffer is full or the connection blocked, before an event is sent. It
   * waits at most its timeout (`0`: for ever): a resource alarm can block the connection indefinitely,
   * and nothing else would end the wait.
   */
  private async waitUntilOpen(bounded: OutboundRequest, timeoutMs: number): Promise<void> {
    let cancel: (() => void) | undefined;
    let timedOut = false;
    const expired =
      timeoutMs > 0
        ? new Promise<void>((resolve) => {
            cancel = afterAtLeast(timeoutMs, () => {
              timedOut = true;
              resolve();
            });
          })
        : undefined;
    try {
      while (!this.session.gate.open) {
        this.requireChannel();
        await (expired ? Promise.race([this.session.gate.wait(), expired]) : this.session.gate.wait());
        if (timedOut && !this.session.gate.open) {
          const why = this.session.gate.isBlocked
            ? `the broker blocks the connection (${this.session.gate.blockedReason ?? 'resource alarm'})`
            : "the channel's write buffer stayed full";
          throw new RpcConnectionError(
            `Could not publish to "${bounded.destination}" within ${timeoutMs} ms: ${why}`,
          );
        }
      }
    } finally {
      cancel?.();
    }
  }

  private requireChannel(): Channel {
    const ch = this.session.channel;
    if (!ch) throw new RpcConnectionError('Not connected to RabbitMQ (the connection is being recovered)');
    return ch;
  }

  /** `protocol: 'nest'`: the body wrapped in Nest's envelope, before the size check (bytes grow in JSON). */
  private inEnvelope(request: OutboundRequest, id?: string): OutboundRequest {
    return { ...request, body: encodeNestRequest(request.destination, request, id) };
  }

  private checkSize(message: OutboundRequest): void {
    if (message.body.length > this.maxMessageSize) {
      throw new RpcPayloadTooLargeError(message.destination, message.body.length, this.maxMessageSize);
    }
  }

  /** Runs on every (re)connection: the channel, the reply consumer, the exchange check. */
  private async setup(model: ChannelModel): Promise<void> {
    if (this.exchange) await declareTopology(model, { exchange: this.exchange });
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.debug?.(`Channel error: ${err.message}`));
    ch.on('return', (msg: Message) => this.onReturn(msg));
    ch.on('drain', () => this.session.gate.drain());
    ch.on('close', () => this.session.channelClosed(ch, model, () => this.dropChannel()));
    const direct = (this.options.replyQueue ?? DIRECT_REPLY_TO) === DIRECT_REPLY_TO;
    let replyTo = DIRECT_REPLY_TO;
    if (!direct) {
      const q = await ch.assertQueue(this.options.replyQueue ?? '', {
        exclusive: true,
        autoDelete: true,
        durable: false,
      });
      replyTo = q.queue;
    }
    // Direct reply-to must be consumed (consume-ok back) before the first request names it.
    await ch.consume(replyTo, (msg) => this.onReply(ch, model, msg), { noAck: true });
    const events = await model.createConfirmChannel();
    events.on('error', (err: Error) => this.logger.debug?.(`Event channel error: ${err.message}`));
    events.on('return', (msg: Message) => this.onReturn(msg));
    events.on('drain', () => this.session.gate.drain());
    events.on('close', () => {
      if (this.eventChannel !== events) return;
      this.eventChannel = undefined;
      this.session.link?.recycleAfterChannelLoss(model); // rebuilt with everything else
    });
    this.eventChannel = events;
    this.replyTo = replyTo;
    this.session.adopt(ch);
  }

  private onReply(ch: Channel, model: ChannelModel, msg: ConsumeMessage | null): void {
    if (!msg) {
      // The broker cancelled the reply consumer (e.g. the reply queue was deleted): replies are lost.
      this.failPending('The reply consumer was cancelled by the broker');
      if (this.session.channel === ch)
        this.session.link?.recycle(model, 'the reply consumer was cancelled by the broker');
      return;
    }
    const correlationId = shortString(msg.properties.correlationId);
    if (correlationId === undefined) return;
    if (this.nestQueue) {
      const { id, reply } = readNestReply(msg.content);
      // Nest's own client ignores a reply whose envelope names another request.
      if (id !== undefined && id !== null && id !== correlationId) return;
      return this.handleReply(correlationId, reply);
    }
    this.handleReply(correlationId, {
      body: msg.content,
      headers: readHeaders(msg.properties.headers),
      contentType: msg.properties.contentType,
    });
  }

  /** `mandatory` requests that no queue took come back here. */
  private onReturn(msg: Message): void {
    const correlationId = shortString(msg.properties.correlationId);
    if (correlationId !== undefined) {
      this.failRequest(correlationId, (entry) => new RpcNoRespondersError(entry.pattern));
    } else {
      this.logger.warn(
        `An event for "${msg.fields.routingKey}" was returned unroutable: no queue is bound to it`,
      );
    }
  }

  /** The reply channel is gone: replies in flight are lost, so pending requests fail now. */
  private dropChannel(): void {
    this.eventChannel = undefined;
    this.session.drop();
    this.failPending('The RabbitMQ connection was lost');
  }

  private failPending(reason: string): void {
    this.pending.failAll((e) => new RpcConnectionError(`${reason} while "${e.pattern}" was pending`));
  }
}
