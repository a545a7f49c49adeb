import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { natsClientAsyncApi } from './nats-asyncapi.js';
import { randomUUID } from 'node:crypto';
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { RpcConnectionError, RpcNoRespondersError, RpcStreamCapturedError } from '../core/errors.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../core/rpc-client.js';
import { headerMap, Headers, type OutboundMessage } from '../core/wire.js';
import { readMsgHeaders, writeEnvelopeHeaders, writeHeaders } from './nats-headers.js';
import { encodeNestRequest, readNestReply } from '../core/nest-envelope.js';
import { DEFAULT_PROTOCOL } from '../core/options.js';
import { publish } from './nats-publish.js';
import { natsRefusal } from './nats-refusal.js';
import { streamAckOf } from './nats-stream-ack.js';
import { natsConnectionOptions, type NatsRpcClientOptions } from './nats-rpc.options.js';
import { watchStatus } from './nats-status.js';
import {
  resolveJetStreamClientOptions,
  type ResolvedJetStreamClientOptions,
} from './jetstream/jetstream-options.js';
import { publishToStream } from './jetstream/jetstream-publisher.js';
import { loadJetStream } from './jetstream/jetstream-module.js';

/**
 * NATS transport client. Replies come through one wildcard inbox subscription per client;
 * the last subject token is the correlation id. (nats.js's own muxed `request()` resolves on
 * the first message only, so it cannot carry streams; the correlation table lives in the core.)
 * In JetStream mode (`jetstream`) requests and events go to a stream, with the reply address and
 * correlation id in headers; replies still come to the inbox.
 */
export class NatsRpcClient extends RpcClient<NatsRpcClientOptions> {
  private nc?: NatsConnection;
  private inbox = '';
  private readonly jetstream?: ResolvedJetStreamClientOptions;
  private js?: JetStreamClient;
  /** `protocol: 'nest'`: requests, events and replies in the envelope of Nest's `ServerNats`. */
  private readonly nest: boolean;

  constructor(options: NatsRpcClientOptions = {}) {
    super(options);
    this.jetstream = resolveJetStreamClientOptions(options.jetstream);
    this.nest = (options.protocol ?? DEFAULT_PROTOCOL) === 'nest';
    if (this.nest && this.jetstream)
      throw new TypeError(
        "NatsRpcClient: protocol 'nest' and jetstream exclude each other (Nest's ServerNats reads core subjects only)",
      );
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    const inbox = this.inbox || `${this.options.inboxPrefix ?? '_INBOX'}.*`; // the nuid is drawn at connect
    return natsClientAsyncApi(inbox, this.jetstream ? 'jetstream' : this.nest ? 'nest' : 'core');
  }

  protected override messagingSystem(): string {
    return 'nats';
  }

  unwrap<T = NatsConnection>(): T {
    if (!this.nc) throw new Error('Not initialized. Please call the "connect" method first.');
    return this.nc as T;
  }

  protected async connectTransport(): Promise<void> {
    // refused credentials or certificate: fail at once with what was refused (nats.js does not retry them)
    const nc = await connect(natsConnectionOptions(this.options)).catch((err: unknown) => {
      throw natsRefusal(err, this.options) ?? err;
    });
    this.nc = nc;
    try {
      this.inbox = createInbox(this.options.inboxPrefix);
      const prefixLength = this.inbox.length + 1;
      nc.subscribe(`${this.inbox}.*`, {
        callback: (err, msg) => {
          if (err) return this.logger.error(`Reply subscription failed: ${err.message}`);
          this.onReply(msg.subject.slice(prefixLength), msg);
        },
      });
      watchStatus(nc, (status) => {
        // Replies published while we are away are lost on core NATS: fail now instead of waiting out the timeout.
        if (status === 'disconnected')
          this.pending.failAll(
            (e) => new RpcConnectionError(`Connection lost while "${e.pattern}" was pending`),
          );
        this.emitStatus(status);
      });
      void nc.closed().then((err) => {
        if (this.nc !== nc) return;
        this.nc = undefined;
        this.resetConnection();
        this.pending.failAll(
          (e) => new RpcConnectionError(`Connection closed while "${e.pattern}" was pending`, { cause: err }),
        );
        this.emitStatus('disconnected', err ?? undefined);
      });
      if (this.jetstream)
        this.js = (await loadJetStream()).jetstream(nc, { timeout: this.jetstream.publishTimeout });
      await nc.flush(); // the inbox subscription is live on the server once this resolves
    } catch (err) {
      this.nc = undefined;
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  protected async closeTransport(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    if (nc && !nc.isClosed()) await nc.close();
  }

  protected publishRequest(request: OutboundRequest, entry: ActiveRequest): void | Promise<void> {
    const nc = this.nc;
    if (!nc) throw new RpcConnectionError('The connection is closed');
    const reply = `${this.inbox}.${entry.correlationId}`;
    if (this.js) {
      // JetStream keeps no reply subject: the address and the id travel in headers (FastStream's names)
      const headers = writeHeaders(request.headers, request.contentType, entry.correlationId);
      headers.set(Headers.replyTo, reply);
      return this.toStream(this.js, nc, request.destination, request.body, headers);
    }
    if (this.nest)
      return publish(
        nc,
        request.destination,
        encodeNestRequest(request.destination, request, entry.correlationId),
        {
          reply,
          headers: writeEnvelopeHeaders(request.headers),
        },
      );
    publish(nc, request.destination, request.body, {
      reply,
      headers: writeHeaders(request.headers, request.contentType),
    });
  }

  protected async publishEvent(event: OutboundRequest): Promise<void> {
    const nc = this.nc;
    if (!nc) throw new RpcConnectionError('The connection is closed');
    if (this.js) {
      // Reply-elsewhere: the results carry this id to a caller that may have restarted since.
      const correlationId = event.replyTo ? replyCorrelationId(event) : undefined;
      const headers = writeHeaders(event.headers, event.contentType, correlationId);
      if (event.replyTo) headers.set(Headers.replyTo, event.replyTo);
      return this.toStream(this.js, nc, event.destination, event.body, headers);
    }
    if (this.nest)
      return publish(nc, event.destination, encodeNestRequest(event.destination, event), {
        headers: writeEnvelopeHeaders(event.headers),
      });
    publish(nc, event.destination, event.body, {
      ...(event.replyTo ? { reply: event.replyTo } : {}),
      headers: writeHeaders(event.headers, event.contentType),
    });
  }

  protected override publishCancel(cancel: OutboundMessage): void {
    const nc = this.nc;
    if (!nc) throw new RpcConnectionError('The connection is closed');
    publish(nc, cancel.destination, cancel.body, {
      headers: writeHeaders(cancel.headers, cancel.contentType),
    });
  }

  private toStream(
    js: JetStreamClient,
    nc: NatsConnection,
    subject: string,
    body: Uint8Array,
    headers: ReturnType<typeof writeHeaders>,
  ): Promise<void> {
    return publishToStream(js, subject, body, headers, this.jetstream?.stream, nc.info?.max_payload ?? 0);
  }

  private onReply(correlationId: string, msg: Msg): void {
    const read = readMsgHeaders(msg);
    // nats-server answers a request nobody subscribes to with an empty 503 status message.
    if (read?.code === 503 && msg.data.length === 0) {
      return this.failRequest(correlationId, (entry) => new RpcNoRespondersError(entry.pattern));
    }
    // A stream captures the subject: nats-server stored the request and answered with its publish ack.
    const ack = read ? undefined : streamAckOf(msg);
    if (ack) {
      return this.failRequest(
        correlationId,
        (entry) => new RpcStreamCapturedError(entry.pattern, ack.stream, ack.error),
      );
    }
    if (this.nest) {
      const { id, reply } = readNestReply(msg.data);
      // Nest's own client ignores a reply whose envelope names another request.
      if (id !== undefined && id !== null && id !== correlationId) return;
      return this.handleReply(correlationId, reply);
    }
    const headers = read?.headers ?? headerMap();
    this.handleReply(correlationId, { body: msg.data, headers, contentType: headers[Headers.contentType] });
  }
}

/** The reply-elsewhere correlation id: `setExtras({ correlationId })` when the caller names one, else a fresh one. */
function replyCorrelationId(event: OutboundRequest): string {
  const own = event.options.extras?.correlationId;
  return typeof own === 'string' && own !== '' ? own : randomUUID();
}
