import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { natsServerAsyncApi } from './nats-asyncapi.js';
import {
  connect,
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { describe } from '../core/describe.js';
import { DEFAULT_MAX_CONCURRENCY } from '../core/options.js';
import { RpcServer, type Route } from '../core/rpc-server.js';
import { responderId } from '../core/stream-binding.js';
import { headerMap, Headers, type InboundMessage, type OutboundMessage } from '../core/wire.js';
import { NatsJetStreamRpcContext } from './jetstream/jetstream-context.js';
import {
  afterDispatch,
  deadLetterHeaders,
  onArrival,
  type DeadLetterReason,
  type Settlement,
} from './jetstream/jetstream-delivery.js';
import { JetStreamIntake, keepWorking } from './jetstream/jetstream-intake.js';
import { loadJetStream } from './jetstream/jetstream-module.js';
import {
  consumerName,
  resolveJetStreamServerOptions,
  type ResolvedJetStreamServerOptions,
} from './jetstream/jetstream-options.js';
import { publishToStream } from './jetstream/jetstream-publisher.js';
import {
  ensureConsumer,
  ensureDeadLetterStream,
  ensureRequestStream,
} from './jetstream/jetstream-topology.js';
import { readHeaders, readMsgHeaders, writeHeaders } from './nats-headers.js';
import { publish } from './nats-publish.js';
import { natsRefusal } from './nats-refusal.js';
import { NatsRpcContext } from './nats-rpc.context.js';
import { DEFAULT_NATS_QUEUE, natsConnectionOptions, type NatsRpcServerOptions } from './nats-rpc.options.js';
import { watchStatus } from './nats-status.js';
import { hasWildcard, subjectMatches } from '../core/subjects.js';
import { encodeNestReply, nestRequestPayload, readNestRequest } from '../core/nest-envelope.js';
import { DEFAULT_NEST_COMPAT } from '../core/options.js';
import { ATTR_MESSAGING_CONSUMER_GROUP } from '../telemetry/semconv.js';
import type { TelemetryAttributes } from '../telemetry/telemetry-options.js';

/**
 * NATS transport server: one subscription per handler (wildcards allowed), in a queue group
 * by default; requests carry their reply subject, replies go there. In JetStream mode
 * (`jetstream`), one durable consumer per handler on a stream instead, acked once replies went out.
 */
export class NatsRpcServer extends RpcServer<NatsRpcServerOptions, NatsRpcContext | NatsJetStreamRpcContext> {
  private nc?: NatsConnection;
  /** The connection `closeTransport` is draining: what `cutTransport` closes. */
  private draining?: NatsConnection;
  private subscriptions: Subscription[] = [];
  /** The subjects of the request handlers without wildcards (a reply subject equal to one loops back). */
  private exactRequestSubjects = new Set<string>();
  /** The subjects of the request handlers with wildcards (a reply subject they match loops back). */
  private wildcardRequestSubjects: string[] = [];
  private readonly jetstream?: ResolvedJetStreamServerOptions;
  private js?: JetStreamClient;
  private intake?: JetStreamIntake;
  /** Dead letters under way (acks and naks are plain publishes): closing waits for them before it drains. */
  private readonly settling = new Set<Promise<void>>();
  /** Each handler's queue group, by handler key (for telemetry). */
  private readonly queues = new Map<string, string>();

  constructor(options: NatsRpcServerOptions) {
    super(options);
    this.jetstream = resolveJetStreamServerOptions(options?.jetstream);
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    const js = this.jetstream;
    return natsServerAsyncApi({
      queueOf: (d) => this.queueOf({ pattern: '', ...d }),
      ...(js ? { jetstream: { stream: js.stream, consumerPrefix: js.consumerPrefix } } : {}),
    });
  }

  protected override messagingSystem(): string {
    return 'nats';
  }

  /** The queue group a message was delivered through, as `messaging.consumer.group.name`. */
  protected override telemetryAttributes(message: InboundMessage): TelemetryAttributes | undefined {
    const queue = this.queues.get(message.pattern);
    return queue ? { [ATTR_MESSAGING_CONSUMER_GROUP]: queue } : undefined;
  }

  unwrap<T = NatsConnection>(): T {
    if (!this.nc)
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.');
    return this.nc as T;
  }

  protected async startTransport(routes: Route[]): Promise<void> {
    const requestSubjects = routes.filter((r) => !r.isEvent).map((r) => r.destination);
    this.exactRequestSubjects = new Set(requestSubjects.filter((subject) => !hasWildcard(subject)));
    this.wildcardRequestSubjects = requestSubjects.filter(hasWildcard);
    // refused credentials or certificate: fail at once with what was refused (nats.js does not retry them)
    const nc = await connect(natsConnectionOptions(this.options)).catch((err: unknown) => {
      throw natsRefusal(err, this.options) ?? err;
    });
    this.nc = nc;
    try {
      watchStatus(nc, (status, ...args) => this.emitStatus(status, ...args));
      // Callers cancel streams here; it lives until the connection closes, so streams can be cancelled while closing.
      const cancelTo = createInbox();
      nc.subscribe(cancelTo, {
        callback: (err, msg) => {
          if (!err) this.streams.cancel(msg.headers?.get(Headers.attempt) || undefined);
        },
      });
      this.streams.cancelTo = cancelTo;
      if (this.jetstream) return await this.startJetStream(nc, routes, this.jetstream);
      for (const [index, route] of routes.entries()) {
        // Each subscription is its own delivery target: with `queue: false` every one of them answers.
        const responder = responderId(this.streams.instance, String(index));
        const queue = this.queueOf(route);
        if (queue) this.queues.set(route.pattern, queue);
        this.subscriptions.push(
          nc.subscribe(route.destination, {
            ...(queue ? { queue } : {}),
            callback: (err, msg) => {
              if (err)
                return this.logger.error(`Subscription to "${route.destination}" failed: ${err.message}`);
              void this.onMessage(route, msg, responder);
            },
          }),
        );
      }
      await nc.flush(); // subscriptions are registered on the server once this resolves
    } catch (err) {
      // An invalid subject, say: close what was opened, or the connection outlives the failed listen().
      this.nc = undefined;
      this.subscriptions = [];
      await this.intake?.stop();
      this.intake = undefined;
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** The stream, the dead-letter stream and one durable consumer per handler; then pulling starts. */
  private async startJetStream(
    nc: NatsConnection,
    routes: Route[],
    o: ResolvedJetStreamServerOptions,
  ): Promise<void> {
    const jsm = await (await loadJetStream()).jetstreamManager(nc);
    await ensureRequestStream(
      jsm,
      o,
      routes.map((r) => r.destination),
    );
    await ensureDeadLetterStream(jsm, o);
    const consumers = routes.map((route) => ({
      route,
      durable: consumerName(o.consumerPrefix, route.destination),
    }));
    for (const { route, durable } of consumers) await ensureConsumer(jsm, o, durable, route.destination);
    this.js = jsm.jetstream();
    const limit = this.options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    this.intake = new JetStreamIntake(this.js, o.stream, limit, (route, msg) => {
      // The same responder on every instance: a redelivery elsewhere is another attempt, not fan-out.
      void this.onJetStreamMessage(
        route,
        msg,
        responderId(o.stream, consumerName(o.consumerPrefix, route.destination)),
        o,
      );
    });
    await this.intake.start(consumers);
  }

  protected async stopIntake(): Promise<void> {
    await this.intake?.stop();
    await Promise.all(this.subscriptions.map((sub) => sub.drain().catch(() => undefined)));
    this.subscriptions = [];
  }

  /** JetStream redelivers what was not handled: a message turned away at close is nak'ed, not answered. */
  protected override refuseAtClose(
    message: InboundMessage,
    context: NatsRpcContext | NatsJetStreamRpcContext,
  ): void | Promise<void> {
    if (!this.jetstream) return super.refuseAtClose(message, context);
  }

  protected async closeTransport(): Promise<void> {
    await Promise.all([...this.settling]);
    this.intake = undefined;
    this.js = undefined;
    const nc = this.nc;
    this.nc = undefined;
    this.draining = nc;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /** A drain waits for the server's answer to its flush: a server gone silent never gives it. */
  protected override cutTransport(): void {
    void this.draining?.close().catch(() => undefined);
  }

  protected publishReply(reply: OutboundMessage, request: InboundMessage): void {
    const nc = this.nc;
    if (!nc) throw new Error('The connection is closed');
    if (request.envelope === 'nest')
      return publish(nc, reply.destination, encodeNestReply(reply, request.correlationId), {});
    publish(nc, reply.destination, reply.body, {
      headers: writeHeaders(
        reply.headers,
        reply.contentType,
        request.headers[Headers.correlationId] !== undefined ? reply.correlationId : undefined,
      ),
    });
  }

  /** A reply subject that one of the request subscriptions matches would be delivered to it: a loop. */
  protected override isOwnRequestDestination(address: string): boolean {
    // checked for every request: a set lookup, and token matching only for wildcard subscriptions
    return (
      this.exactRequestSubjects.has(address) ||
      this.wildcardRequestSubjects.some((subject) => subjectMatches(subject, address))
    );
  }

  private onMessage(route: Route, msg: Msg, responder: string): Promise<unknown> {
    const headers = readMsgHeaders(msg)?.headers ?? headerMap();
    const nest =
      (this.options.nestCompat ?? DEFAULT_NEST_COMPAT)
        ? readNestRequest(msg.data, headers[Headers.contentType])
        : undefined;
    if (nest) {
      // Nest's ClientNats: the envelope's id is the correlation id; without one it is an event.
      const { body, contentType } = nestRequestPayload(nest);
      const message: InboundMessage = {
        destination: msg.subject,
        pattern: route.pattern,
        body,
        headers,
        contentType,
        correlationId: nest.id,
        replyTo: nest.id !== undefined && msg.reply ? msg.reply : undefined,
        responder,
        envelope: 'nest',
      };
      return this.dispatchOrRefuse(message, new NatsRpcContext([message, msg]));
    }
    const message: InboundMessage = {
      destination: msg.subject,
      pattern: route.pattern,
      body: msg.data,
      headers,
      contentType: headers[Headers.contentType],
      // as the wire protocol has it: the `correlation_id` header when sent, else the reply subject's last
      // token (not for reply-elsewhere: its reply subject is a pattern, not an inbox)
      correlationId:
        headers[Headers.correlationId] ??
        (headers[Headers.replyMode] === 'event' ? undefined : lastToken(msg.reply)),
      replyTo: msg.reply || undefined,
      responder,
    };
    // Core NATS neither holds messages back nor redelivers them: beyond maxQueued, refuse at once.
    return this.dispatchOrRefuse(message, new NatsRpcContext([message, msg]));
  }

  /** One JetStream delivery: dead-lettered past `maxDeliver`, else dispatched with working acks, then settled. */
  private async onJetStreamMessage(
    route: Route,
    msg: JsMsg,
    responder: string,
    o: ResolvedJetStreamServerOptions,
  ): Promise<void> {
    const headers = readHeaders(msg.headers);
    const message: InboundMessage = {
      destination: msg.subject,
      pattern: route.pattern,
      body: msg.data,
      headers,
      contentType: headers[Headers.contentType],
      // JetStream keeps no reply subject: the address and the id travel in headers (FastStream's names)
      correlationId: headers[Headers.correlationId],
      replyTo: headers[Headers.replyTo] || undefined,
      responder,
    };
    const context = new NatsJetStreamRpcContext([message, msg]);
    const count = msg.info.deliveryCount;
    if (msg.info.redelivered) this.counts.increment('messagesRedelivered');
    const early = onArrival(count, o.maxDeliver);
    if (early)
      return this.settle(early, message, context, msg, o).catch((err) =>
        this.logger.error(`Could not settle a message from "${message.destination}": ${describe(err)}`),
      );
    const stop = keepWorking(msg, o.workingInterval);
    let outcome;
    try {
      outcome = await this.dispatchWithOutcome(message, context);
    } finally {
      stop();
    }
    await this.settle(
      afterDispatch(outcome, count, o.maxDeliver, o.retryDelay),
      message,
      context,
      msg,
      o,
    ).catch((err) =>
      this.logger.error(`Could not settle a message from "${message.destination}": ${describe(err)}`),
    );
  }

  /** Acks, naks or dead-letters one delivery; a connection closed meanwhile leaves it to redelivery. */
  private async settle(
    step: Settlement,
    message: InboundMessage,
    context: NatsJetStreamRpcContext,
    msg: JsMsg,
    o: ResolvedJetStreamServerOptions,
  ): Promise<void> {
    if (!this.nc || this.nc.isClosed()) return; // a handler that outlived closeTimeout: nats-server redelivers
    if (step.do === 'ack') return msg.ack();
    if (step.do === 'nak') return msg.nak(step.delay || undefined);
    const settled = this.deadLetter(step.reason, message, context, msg, o).then(
      // ack, not term: nats-server 2.9 sends no advisory for term, and the dead letter is stored
      () => msg.ack(),
      (err) => {
        this.logger.error(`Could not dead-letter a message from "${message.destination}": ${describe(err)}`);
        msg.nak(o.retryDelay);
      },
    );
    this.settling.add(settled);
    await settled.finally(() => this.settling.delete(settled));
  }

  /** Publishes the message to the dead-letter subject, and tells a caller still waiting. */
  private async deadLetter(
    reason: DeadLetterReason,
    message: InboundMessage,
    context: NatsJetStreamRpcContext,
    msg: JsMsg,
    o: ResolvedJetStreamServerOptions,
  ): Promise<void> {
    const count = msg.info.deliveryCount;
    if (o.deadLetterSubject !== false) {
      const headers = writeHeaders(
        deadLetterHeaders(message.headers, reason, count, message.destination),
        message.contentType ?? 'application/octet-stream',
      );
      if (o.deadLetterStream !== false)
        await publishToStream(this.js!, o.deadLetterSubject, message.body, headers, o.deadLetterStream, 0);
      else publish(this.nc!, o.deadLetterSubject, message.body, { headers });
    }
    this.counts.increment('requestsDeadLettered');
    this.logger.warn(
      `Dead-lettered a message from "${message.destination}" after ${count} deliveries (${reason})` +
        (o.deadLetterSubject === false ? '; dropped (no deadLetterSubject)' : ` to "${o.deadLetterSubject}"`),
    );
    const handler = this.messageHandlers.get(message.pattern);
    if (message.replyTo !== undefined && handler?.isEventHandler !== true && reason !== 'rejected')
      await this.replyError(message, context, 'dead-lettered', {
        status: 'error',
        message: `The request was dead-lettered after ${count} deliveries (${reason})`,
      });
  }

  private queueOf(route: Route): string | undefined {
    const own = route.extras.queue as string | false | undefined;
    const queue = own !== undefined ? own : (this.options.queue ?? DEFAULT_NATS_QUEUE);
    return queue === false ? undefined : queue;
  }
}

function lastToken(subject: string | undefined): string | undefined {
  return subject ? subject.slice(subject.lastIndexOf('.') + 1) : undefined;
}
