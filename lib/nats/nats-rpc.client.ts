import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { RpcConnectionError, RpcNoRespondersError, RpcStreamCapturedError } from '../core/errors.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../core/rpc-client.js';
import { Headers, type OutboundMessage } from '../core/wire.js';
import { readHeaders, writeHeaders } from './nats-headers.js';
import { publish } from './nats-publish.js';
import { streamAckOf } from './nats-stream-ack.js';
import { natsConnectionOptions, type NatsRpcClientOptions } from './nats-rpc.options.js';
import { watchStatus } from './nats-status.js';

/**
 * NATS transport client. Replies come through one wildcard inbox subscription per client;
 * the last subject token is the correlation id. (nats.js's own muxed `request()` resolves on
 * the first message only, so it cannot carry streams; the correlation table lives in the core.)
 */
export class NatsRpcClient extends RpcClient<NatsRpcClientOptions> {
  private nc?: NatsConnection;
  private inbox = '';

  constructor(options: NatsRpcClientOptions = {}) {
    super(options);
  }

  protected override messagingSystem(): string {
    return 'nats';
  }

  unwrap<T = NatsConnection>(): T {
    if (!this.nc) throw new Error('Not initialized. Please call the "connect" method first.');
    return this.nc as T;
  }

  protected async connectTransport(): Promise<void> {
    const nc = await connect(natsConnectionOptions(this.options));
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
    if (nc && !nc.isClosed()) await nc.close();
  }

  protected publishRequest(request: OutboundRequest, entry: ActiveRequest): void {
    const nc = this.nc;
    if (!nc) throw new RpcConnectionError('The connection is closed');
    publish(nc, request.destination, request.body, {
      reply: `${this.inbox}.${entry.correlationId}`,
      headers: writeHeaders(request.headers, request.contentType),
    });
  }

  protected async publishEvent(event: OutboundRequest): Promise<void> {
    const nc = this.nc;
    if (!nc) throw new RpcConnectionError('The connection is closed');
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

  private onReply(correlationId: string, msg: Msg): void {
    const hdrs = msg.headers;
    // nats-server answers a request nobody subscribes to with an empty 503 status message.
    if (hdrs?.code === 503 && msg.data.length === 0) {
      return this.failRequest(correlationId, (entry) => new RpcNoRespondersError(entry.pattern));
    }
    // A stream captures the subject: nats-server stored the request and answered with its publish ack.
    const ack = streamAckOf(msg);
    if (ack) {
      return this.failRequest(
        correlationId,
        (entry) => new RpcStreamCapturedError(entry.pattern, ack.stream, ack.error),
      );
    }
    const headers = readHeaders(hdrs);
    this.handleReply(correlationId, { body: msg.data, headers, contentType: headers[Headers.contentType] });
  }
}
