import {
  connect,
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { RpcServer, type Route } from '../core/rpc-server.js';
import { responderId } from '../core/stream-binding.js';
import { Headers, type InboundMessage, type OutboundMessage } from '../core/wire.js';
import { readHeaders, writeHeaders } from './nats-headers.js';
import { publish } from './nats-publish.js';
import { NatsRpcContext } from './nats-rpc.context.js';
import { DEFAULT_NATS_QUEUE, natsConnectionOptions, type NatsRpcServerOptions } from './nats-rpc.options.js';
import { watchStatus } from './nats-status.js';
import { subjectMatches } from '../core/subjects.js';
import { encodeNestReply, nestRequestPayload, readNestRequest } from '../core/nest-envelope.js';
import { DEFAULT_NEST_COMPAT } from '../core/options.js';

/**
 * NATS transport server: one subscription per handler (wildcards allowed), in a queue group
 * by default; requests carry their reply subject, replies go there.
 */
export class NatsRpcServer extends RpcServer<NatsRpcServerOptions, NatsRpcContext> {
  private nc?: NatsConnection;
  private subscriptions: Subscription[] = [];
  /** The subjects of the request handlers (wildcards included). */
  private requestSubjects: string[] = [];

  constructor(options: NatsRpcServerOptions) {
    super(options);
  }

  unwrap<T = NatsConnection>(): T {
    if (!this.nc)
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.');
    return this.nc as T;
  }

  protected async startTransport(routes: Route[]): Promise<void> {
    this.requestSubjects = routes.filter((r) => !r.isEvent).map((r) => r.destination);
    const nc = await connect(natsConnectionOptions(this.options));
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
      for (const [index, route] of routes.entries()) {
        // Each subscription is its own delivery target: with `queue: false` every one of them answers.
        const responder = responderId(this.streams.instance, String(index));
        const queue = this.queueOf(route);
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
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  protected async stopIntake(): Promise<void> {
    await Promise.all(this.subscriptions.map((sub) => sub.drain().catch(() => undefined)));
    this.subscriptions = [];
  }

  protected async closeTransport(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  protected publishReply(reply: OutboundMessage, request: InboundMessage, context: NatsRpcContext): void {
    const nc = this.nc;
    if (!nc) throw new Error('The connection is closed');
    const msg = context.getMessage();
    if (request.envelope === 'nest')
      return publish(nc, reply.destination, encodeNestReply(reply, request.correlationId), {});
    publish(nc, reply.destination, reply.body, {
      headers: writeHeaders(
        reply.headers,
        reply.contentType,
        msg.headers?.has(Headers.correlationId) ? reply.correlationId : undefined,
      ),
    });
  }

  /** A reply subject that one of the request subscriptions matches would be delivered to it: a loop. */
  protected override isOwnRequestDestination(address: string): boolean {
    return this.requestSubjects.some((subject) => subjectMatches(subject, address));
  }

  private onMessage(route: Route, msg: Msg, responder: string): Promise<unknown> {
    const headers = readHeaders(msg.headers);
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

  private queueOf(route: Route): string | undefined {
    const own = route.extras.queue as string | false | undefined;
    const queue = own !== undefined ? own : (this.options.queue ?? DEFAULT_NATS_QUEUE);
    return queue === false ? undefined : queue;
  }
}

function lastToken(subject: string | undefined): string | undefined {
  return subject ? subject.slice(subject.lastIndexOf('.') + 1) : undefined;
}
