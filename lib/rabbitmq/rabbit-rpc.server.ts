import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { rabbitServerAsyncApi } from './rabbit-asyncapi.js';
import { queueArguments } from './rabbit-topology.js';
import type { Channel, ChannelModel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import { AckBatcher } from './rabbit-acks.js';
import { publishMessage, type PublishProperties } from './rabbit-publish.js';
import { RpcConnectionError, RpcPayloadTooLargeError } from '../core/errors.js';
import { toBuffer } from '../core/bytes.js';
import { checkNonNegativeInt, checkPositiveInt } from '../core/integer-checks.js';
import type { ReplyMode } from '../core/reply-policy.js';
import { type DispatchOutcome, type Route, RpcServer } from '../core/rpc-server.js';
import { responderId } from '../core/stream-binding.js';
import { Headers, type InboundMessage, type OutboundMessage } from '../core/wire.js';
import { RabbitSession } from './rabbit-session.js';
import { readHeaders, shortString } from './rabbit-headers.js';
import { RabbitRpcContext, claimSettlement } from './rabbit-rpc.context.js';
import {
  DEFAULT_RABBIT_MAX_MESSAGE_SIZE,
  DEFAULT_RABBIT_PREFETCH,
  DEFAULT_RABBIT_EVENT_RETRIES,
  DEFAULT_NEST_QUEUE_OPTIONS,
  type RabbitQueueOptions,
  type RabbitRpcServerOptions,
  resolveExchange,
  type ResolvedExchange,
} from './rabbit-rpc.options.js';
import { declareTopology, hasDeadLetterExchange, RoutingTable } from './rabbit-topology.js';
import { failedEventAction, isQuorum } from './rabbit-event-policy.js';
import { CRASHES_BEFORE_DROP, DirectReplyCrashes, INTERNAL_ERROR_CODE } from './rabbit-reply-crashes.js';
import { ATTR_MESSAGING_RABBITMQ_ROUTING_KEY } from '../telemetry/semconv.js';
import type { TelemetryAttributes } from '../telemetry/telemetry-options.js';
import {
  encodeNestReply,
  type NestRequest,
  nestRequestPayload,
  readNestRequest,
} from '../core/nest-envelope.js';
import { DEFAULT_NEST_COMPAT } from '../core/options.js';

/** A queue this server consumes, and how its messages find their handler. */
interface ConsumedQueue {
  name: string;
  options: RabbitQueueOptions;
  /** Default topology: the queue's one handler. */
  pattern?: string;
  /** Exchange topology: handlers by routing key. */
  router?: RoutingTable;
  bindings: string[];
  deadLetter: boolean;
  /** Stream responder id: a queue delivers each message to one consumer, so a second answer is a redelivery. */
  responder: string;
  /** Counts deliveries (`x-delivery-count`), so failed events can be retried a bounded number of times. */
  quorum: boolean;
  /** A queue Nest's `ClientRMQ` publishes to (`nestQueues`): requests of every pattern, routed by their envelope. */
  nest?: true;
}

/**
 * RabbitMQ transport server. Default topology: one queue per pattern, named by the pattern, fed by
 * the default exchange (RabbitMQ's RPC tutorial, FastStream). With `exchange`: one service queue bound
 * with every pattern, dispatch by routing key. Each request is acked once its handler finished and its
 * replies were published; `prefetch` bounds the unacked requests per queue. Handler errors are answered
 * and acked, never requeued; requests left unacked by a dying worker are redelivered by the broker.
 */
export class RabbitRpcServer extends RpcServer<RabbitRpcServerOptions, RabbitRpcContext> {
  private readonly session = new RabbitSession();
  private queues: ConsumedQueue[] = [];
  /** Patterns of the request handlers: a reply dispatched to one of them would loop. */
  private requestPatterns = new Set<string>();
  private consumers: Array<{ channel: Channel; tag: string }> = [];
  private intake = false;
  private readonly exchange?: ResolvedExchange;
  private readonly maxMessageSize: number;
  private readonly noAck: boolean;
  /** Requests in flight per channel: when it closes they are requeued, and their streams stop. */
  private readonly inFlight = new WeakMap<Channel, Set<InboundMessage>>();
  /** Acks per channel, batched into `multiple` acks over each unbroken run of finished requests. */
  private readonly acks = new WeakMap<Channel, AckBatcher>();
  private readonly eventRetries: number;
  private readonly nestCompat: boolean;
  /** Requests whose direct reply crashed the connection (RabbitMQ 3.10, caller's node down): dropped, not answered for ever. */
  private readonly replyCrashes = new DirectReplyCrashes();

  constructor(options: RabbitRpcServerOptions = {}) {
    super(options);
    checkNonNegativeInt('prefetch', options.prefetch);
    checkPositiveInt('maxMessageSize', options.maxMessageSize);
    checkNonNegativeInt('eventRetries', options.eventRetries);
    this.eventRetries = options.eventRetries ?? DEFAULT_RABBIT_EVENT_RETRIES;
    this.exchange = resolveExchange(options.exchange);
    if (this.exchange && !options.serviceQueue) {
      throw new TypeError(
        'RabbitRpcServer: the exchange topology needs `serviceQueue`, the queue bound to the exchange',
      );
    }
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_RABBIT_MAX_MESSAGE_SIZE;
    this.noAck = options.noAck === true;
    this.nestCompat = options.nestCompat ?? DEFAULT_NEST_COMPAT;
    if (!this.nestCompat && options.nestQueues !== undefined && options.nestQueues.length > 0)
      throw new TypeError('RabbitRpcServer: `nestQueues` needs `nestCompat`, which is false');
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    return rabbitServerAsyncApi(
      this.exchange,
      this.options.serviceQueue,
      (d) => {
        const args = queueArguments({
          ...this.options.queue,
          ...(d.extras.queue as RabbitQueueOptions | undefined),
        });
        return { name: d.destination, durable: args.durable, autoDelete: args.autoDelete };
      },
      !this.noAck,
    );
  }

  protected override messagingSystem(): string {
    return 'rabbitmq';
  }

  protected override telemetryAttributes(
    _message: InboundMessage,
    context: RabbitRpcContext,
  ): TelemetryAttributes {
    return { [ATTR_MESSAGING_RABBITMQ_ROUTING_KEY]: context.getRoutingKey() };
  }

  /** The amqplib connection (a `RecoveringChannelModel` unless `reconnect: false`). */
  unwrap<T = RecoveringChannelModel | ChannelModel>(): T {
    if (!this.session.link?.raw)
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.');
    return this.session.link.raw as T;
  }

  /** Names of the queues this server consumes. */
  get queueNames(): string[] {
    return this.queues.map((q) => q.name);
  }

  protected async startTransport(routes: Route[]): Promise<void> {
    this.queues = this.plan(routes);
    this.requestPatterns = new Set(routes.filter((r) => !r.isEvent).map((r) => r.pattern));
    this.intake = true;
    try {
      await this.session.open(
        this.options,
        {
          setup: (model) => this.setup(model),
          dropChannel: () => this.dropChannel(),
          emitStatus: (status, ...args) => this.emitStatus(status, ...args),
          gaveUp: (err) => this.logger.error(`Gave up reconnecting to RabbitMQ: ${err.message}`),
        },
        this.logger,
      );
    } catch (err) {
      this.intake = false;
      throw err;
    }
  }

  protected async stopIntake(): Promise<void> {
    this.intake = false;
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map(({ channel, tag }) => channel.cancel(tag).catch(() => undefined)));
  }

  protected closeTransport(): Promise<void> {
    const ch = this.session.channel;
    if (ch) this.acks.get(ch)?.flush(); // what finished is acked before the channel closes
    return this.session.close();
  }

  protected override cutTransport(): void {
    this.session.cut();
  }

  protected publishReply(reply: OutboundMessage, request: InboundMessage): void | Promise<void> {
    // Nest's envelope: the body, no content type nor headers, the caller's correlation id (ServerRMQ's reply).
    const nest = request.envelope === 'nest';
    const body = nest ? encodeNestReply(reply, request.correlationId) : reply.body;
    if (body.length > this.maxMessageSize) {
      throw new RpcPayloadTooLargeError(reply.destination, body.length, this.maxMessageSize);
    }
    // Reply-elsewhere results are events for a pattern: they take the way requests take.
    const exchange = request.headers[Headers.replyMode] === 'event' ? (this.exchange?.name ?? '') : '';
    const send = () => {
      const ch = this.session.channel;
      if (!ch)
        throw new RpcConnectionError(
          this.noAck
            ? 'Not connected to RabbitMQ; the reply is lost (noAck: the request is not redelivered)'
            : 'Not connected to RabbitMQ; the request stays unacked and will be redelivered',
        );
      const options: PublishProperties = nest
        ? { correlationId: reply.correlationId }
        : { contentType: reply.contentType, headers: reply.headers, correlationId: reply.correlationId };
      if (!publishMessage(ch, exchange, reply.destination, toBuffer(body), options)) this.session.gate.fill();
      this.replyCrashes.published(reply.destination, request.correlationId);
    };
    if (this.session.gate.open) return send();
    return this.publishWhenOpen(send);
  }

  /**
   * Replies go to the queue named by the address (default exchange); reply-elsewhere results with an
   * exchange go there by routing key, and land in the service queue when one of its bindings takes it.
   */
  protected override isOwnRequestDestination(address: string, mode: ReplyMode): boolean {
    if (mode === 'event' && this.exchange) {
      const pattern = this.queues[0]?.router?.patternFor(address);
      return pattern !== undefined && this.requestPatterns.has(pattern);
    }
    const queue = this.queues.find((q) => q.name === address);
    if (!queue) return false;
    // the service queue takes requests whatever their routing key; a pattern's queue, if it is a request handler's
    return queue.router !== undefined || queue.nest === true || this.requestPatterns.has(queue.pattern!);
  }

  private async publishWhenOpen(send: () => void): Promise<void> {
    while (!this.session.gate.open) {
      if (!this.session.channel) break; // send() reports it
      await this.session.gate.wait();
    }
    send();
  }

  /** The queues to consume: one per destination, or the one service queue of the exchange topology. */
  private plan(routes: Route[]): ConsumedQueue[] {
    const own = this.planOwn(routes);
    const names = this.options.nestQueues;
    const options = this.options.nestQueueOptions ?? DEFAULT_NEST_QUEUE_OPTIONS;
    for (const name of typeof names === 'string' ? [names] : (names ?? [])) {
      if (own.some((q) => q.name === name))
        throw new TypeError(`RabbitRpcServer: nest queue "${name}" is also one of this server's own queues`);
      own.push({
        name,
        options,
        bindings: [],
        deadLetter: hasDeadLetterExchange(options),
        responder: responderId('rabbitmq', name),
        quorum: isQuorum(options),
        nest: true,
      });
    }
    return own;
  }

  private planOwn(routes: Route[]): ConsumedQueue[] {
    const base = this.options.queue ?? {};
    if (this.exchange) {
      const bindings = [...new Set(routes.map((r) => r.destination))];
      const router = new RoutingTable(
        routes.map((r) => ({ binding: r.destination, pattern: r.pattern })),
        this.exchange.type === 'topic',
      );
      return [
        {
          name: this.options.serviceQueue!,
          options: base,
          router,
          bindings,
          deadLetter: hasDeadLetterExchange(base),
          responder: responderId('rabbitmq', this.options.serviceQueue!),
          quorum: isQuorum(base),
        },
      ];
    }
    const byName = new Map<string, ConsumedQueue>();
    for (const route of routes) {
      const existing = byName.get(route.destination);
      if (existing) {
        this.logger.warn(
          `Patterns "${existing.pattern}" and "${route.pattern}" share queue "${route.destination}"; "${existing.pattern}" handles it`,
        );
        continue;
      }
      const options: RabbitQueueOptions = {
        ...base,
        ...(route.extras.queue as RabbitQueueOptions | undefined),
      };
      byName.set(route.destination, {
        name: route.destination,
        options,
        pattern: route.pattern,
        bindings: [],
        deadLetter: hasDeadLetterExchange(options),
        responder: responderId('rabbitmq', route.destination),
        quorum: isQuorum(options),
      });
    }
    return [...byName.values()];
  }

  /** Runs on every (re)connection: declare what this server owns, then consume. */
  private async setup(model: ChannelModel): Promise<void> {
    const crashed = this.replyCrashes.connection();
    model.on('error', (err: Error & { code?: unknown }) => {
      if (err.code === INTERNAL_ERROR_CODE) crashed();
    });
    await declareTopology(model, {
      exchange: this.exchange,
      queues: this.queues.map((q) => ({ name: q.name, options: q.options, bindings: q.bindings })),
    });
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.debug?.(`Channel error: ${err.message}`));
    ch.on('drain', () => this.session.gate.drain());
    ch.on('close', () => {
      for (const message of this.inFlight.get(ch) ?? []) this.streams.stop(message);
      this.session.channelClosed(ch, model, () => this.dropChannel());
    });
    if (!this.noAck) {
      await ch.prefetch(this.options.prefetch ?? DEFAULT_RABBIT_PREFETCH); // no-ack consumers ignore it
      const send = (tag: number, multiple: boolean) => {
        try {
          ch.ack({ fields: { deliveryTag: tag } } as Message, multiple); // amqplib reads the tag only
        } catch {
          // Its channel closed meanwhile: the broker has requeued what it had not acked.
        }
      };
      const batch = this.options.batchAcks !== false;
      this.acks.set(ch, new AckBatcher(send, batch ? undefined : (flush) => flush()));
    }
    // Callers cancel streams through this private queue (new at every connection, as its name).
    const cancel = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.consume(
      cancel.queue,
      (msg) => msg && this.streams.cancel(readHeaders(msg.properties.headers)[Headers.attempt]),
      {
        noAck: true,
      },
    );
    this.streams.cancelTo = cancel.queue;
    this.session.adopt(ch);
    if (!this.intake) return;
    const consumers: Array<{ channel: Channel; tag: string }> = [];
    for (const queue of this.queues) {
      const { consumerTag } = await ch.consume(queue.name, (msg) => this.onDelivery(ch, model, queue, msg), {
        noAck: this.noAck,
      });
      consumers.push({ channel: ch, tag: consumerTag });
    }
    this.consumers = consumers;
  }

  private onDelivery(
    ch: Channel,
    model: ChannelModel,
    queue: ConsumedQueue,
    msg: ConsumeMessage | null,
  ): void {
    if (!msg) {
      // The broker cancelled the consumer (its queue was deleted): reconnecting declares it again.
      if (this.intake && this.session.channel === ch)
        this.session.link?.recycle(
          model,
          `the consumer of queue "${queue.name}" was cancelled by the broker`,
        );
      return;
    }
    const routingKey = msg.fields.routingKey;
    const props = msg.properties;
    const contentType = props.contentType || undefined;
    const nest = this.nestCompat ? readNestRequest(msg.content, contentType) : undefined;
    const message: InboundMessage = nest
      ? this.nestMessage(queue, msg, nest)
      : {
          destination: routingKey,
          pattern: queue.pattern ?? queue.router?.patternFor(routingKey) ?? routingKey,
          body: msg.content,
          headers: readHeaders(props.headers),
          contentType,
          correlationId: shortString(props.correlationId),
          replyTo: shortString(props.replyTo),
          responder: queue.responder,
        };
    if (msg.fields.redelivered && this.replyCrashes.takePoison(message.replyTo, message.correlationId)) {
      this.logger.warn(
        `Dropped a redelivered request on queue "${queue.name}": answering it crashed the connection ${CRASHES_BEFORE_DROP} times (RabbitMQ cannot reach its caller's direct reply-to)`,
      );
      try {
        ch.ack(msg);
      } catch {
        // Its channel closed meanwhile: the broker has requeued it.
      }
      return;
    }
    const ctx = new RabbitRpcContext([message, msg], ch, this.noAck, this.warnDropped);
    // With acks, prefetch bounds what the broker pushes; with noAck nothing does, so refuse beyond maxQueued.
    if (this.noAck) {
      void this.dispatchOrRefuse(message, ctx);
      return;
    }
    const acks = this.acks.get(ch)!;
    acks.delivered(msg.fields.deliveryTag);
    const done = this.dispatchWithOutcome(message, ctx);
    let inFlight = this.inFlight.get(ch);
    if (!inFlight) this.inFlight.set(ch, (inFlight = new Set()));
    inFlight.add(message);
    void done.then((outcome) => {
      inFlight.delete(message);
      this.settle(ch, acks, queue, ctx, outcome);
    });
  }

  /**
   * Acks once the handler is done and its replies are out; dead-letters what could not be handled, if a
   * DLX is set; retries or dead-letters a failed event (`failedEventAction`). A message the handler
   * settled itself (through the context's channel) is left alone.
   */
  private settle(
    ch: Channel,
    acks: AckBatcher,
    queue: ConsumedQueue,
    ctx: RabbitRpcContext,
    outcome: DispatchOutcome,
  ): void {
    const msg = ctx.getMessage();
    const tag = msg.fields.deliveryTag;
    if (!claimSettlement(ctx)) return acks.settledElsewhere(tag);
    if (outcome !== 'failed' && !(outcome === 'rejected' && queue.deadLetter)) return acks.finished(tag);
    acks.settledElsewhere(tag); // nacked here, at once
    try {
      if (outcome === 'failed') {
        const action = failedEventAction(queue, msg.properties.headers, this.eventRetries);
        if (action === 'retry') {
          ch.nack(msg, false, true);
          this.counts.increment('eventsRetried');
        } else if (action === 'dead-letter') {
          ch.nack(msg, false, false);
          this.counts.increment('eventsDeadLettered');
        } else {
          ch.ack(msg);
          this.logger.warn(`Dropped the failed event on queue "${queue.name}" (no dead-letter exchange)`);
        }
      } else ch.nack(msg, false, false); // rejected, with a dead-letter exchange
    } catch {
      // Its channel closed meanwhile: the broker has requeued the message for redelivery.
    }
  }

  /**
   * A request turned away at close goes back to its queue for another consumer (this one has been
   * cancelled). With `noAck` nothing would redeliver it, so it is answered `shutting-down` instead.
   */
  protected override refuseAtClose(message: InboundMessage, ctx: RabbitRpcContext): void | Promise<void> {
    if (this.noAck) return super.refuseAtClose(message, ctx);
    try {
      ctx.getChannelRef().nack(ctx.getMessage(), false, true); // claims the settlement: `settle` leaves it alone
    } catch {
      // Its channel closed meanwhile: the broker has requeued the message already.
    }
  }

  /**
   * A message in Nest's envelope (`ClientRMQ`): on a nest queue its handler is the envelope's pattern,
   * as Nest's `ServerRMQ` routes; without an `id` it is an event.
   */
  private nestMessage(queue: ConsumedQueue, msg: ConsumeMessage, nest: NestRequest): InboundMessage {
    const props = msg.properties;
    const { body, contentType } = nestRequestPayload(nest);
    const routingKey = msg.fields.routingKey;
    return {
      destination: routingKey,
      pattern: queue.nest
        ? this.normalizePattern(nest.pattern as string)
        : (queue.pattern ?? queue.router?.patternFor(routingKey) ?? routingKey),
      body,
      headers: readHeaders(props.headers),
      contentType,
      correlationId: shortString(props.correlationId) ?? nest.id,
      replyTo: nest.id !== undefined ? shortString(props.replyTo) : undefined,
      responder: queue.responder,
      envelope: 'nest',
    };
  }

  private readonly warnDropped = (text: string) => this.logger.warn(text);

  private dropChannel(): void {
    this.session.drop();
    this.consumers = [];
  }
}
