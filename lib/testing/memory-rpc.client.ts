import { randomBytes } from 'node:crypto';
import { RpcConnectionError, RpcNoRespondersError } from '../core/errors.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../core/rpc-client.js';
import { MemoryBroker, type MemoryMessage, type MemorySubscription } from './memory-broker.js';
import { checkMemoryOptions, type MemoryRpcClientOptions } from './memory-rpc.options.js';
import { memoryAsyncApiTransport } from './memory-asyncapi.js';
import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';

/**
 * In-memory transport client: requests go through a `MemoryBroker` as bytes, replies come back to one
 * inbox subscription per client, matched by the message's correlation id.
 */
export class MemoryRpcClient extends RpcClient<MemoryRpcClientOptions> {
  private broker?: MemoryBroker;
  private inbox?: MemorySubscription;

  constructor(options: MemoryRpcClientOptions = {}) {
    checkMemoryOptions(options);
    super(options);
  }

  protected override messagingSystem(): string {
    return 'memory';
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    return memoryAsyncApiTransport('MemoryRpcClient', {
      address: this.inbox?.subject ?? '_INBOX.*',
      description: "This client's inbox (`_INBOX.<random hex>`, one per client).",
    });
  }

  unwrap<T = MemoryBroker>(): T {
    if (!this.broker) throw new Error('Not initialized. Please call the "connect" method first.');
    return this.broker as T;
  }

  protected async connectTransport(): Promise<void> {
    const broker = this.options.broker ?? MemoryBroker.default;
    this.inbox = broker.subscribe(`_INBOX.${randomBytes(8).toString('hex')}`, (msg) => this.onReply(msg));
    this.broker = broker;
  }

  protected async closeTransport(): Promise<void> {
    this.inbox?.unsubscribe();
    this.inbox = undefined;
    this.broker = undefined;
  }

  protected publishRequest(request: OutboundRequest, entry: ActiveRequest): void {
    const { broker, inbox } = this;
    if (!broker || !inbox) throw new RpcConnectionError('The client is closed');
    broker.request({
      destination: request.destination,
      body: request.body,
      headers: request.headers,
      contentType: request.contentType,
      correlationId: entry.correlationId,
      replyTo: inbox.subject,
    });
  }

  protected async publishEvent(event: OutboundRequest): Promise<void> {
    const broker = this.broker;
    if (!broker) throw new RpcConnectionError('The client is closed');
    broker.publish({
      destination: event.destination,
      body: event.body,
      headers: event.headers,
      contentType: event.contentType,
      ...(event.replyTo !== undefined ? { replyTo: event.replyTo } : {}),
    });
  }

  private onReply(msg: MemoryMessage): void {
    const correlationId = msg.correlationId ?? '';
    if (msg.status === 'no-responders')
      return this.failRequest(correlationId, (entry) => new RpcNoRespondersError(entry.pattern));
    this.handleReply(correlationId, msg);
  }
}
