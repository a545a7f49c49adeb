import { RpcServer, type Route } from '../core/rpc-server.js';
import type { InboundMessage, OutboundMessage } from '../core/wire.js';
import { MemoryBroker, type MemoryMessage, type MemorySubscription } from './memory-broker.js';
import { MemoryRpcContext } from './memory-rpc.context.js';
import { memoryAsyncApiTransport } from './memory-asyncapi.js';
import type { AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import {
  checkMemoryOptions,
  checkQueue,
  DEFAULT_MEMORY_QUEUE,
  type MemoryRpcServerOptions,
} from './memory-rpc.options.js';

/**
 * In-memory transport server: one `MemoryBroker` subscription per handler (wildcards allowed), in a
 * queue group by default, as on NATS; replies go to the request's `replyTo`.
 */
export class MemoryRpcServer extends RpcServer<MemoryRpcServerOptions, MemoryRpcContext> {
  private broker?: MemoryBroker;
  private subscriptions: MemorySubscription[] = [];

  constructor(options: MemoryRpcServerOptions = {}) {
    checkMemoryOptions(options);
    super(options);
  }

  protected override messagingSystem(): string {
    return 'memory';
  }

  protected override asyncApiTransport(): AsyncApiTransport {
    return memoryAsyncApiTransport(
      'MemoryRpcServer',
      { address: null, description: "The request's `replyTo`: the caller's inbox." },
      (extras) => this.queueOf({ pattern: '', destination: '', isEvent: false, extras }),
    );
  }

  unwrap<T = MemoryBroker>(): T {
    if (!this.broker)
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method first.');
    return this.broker as T;
  }

  protected async startTransport(routes: Route[]): Promise<void> {
    const broker = this.options.broker ?? MemoryBroker.default;
    const queues = routes.map((route) => this.queueOf(route)); // all checked before any subscription
    this.broker = broker;
    routes.forEach((route, i) => {
      const queue = queues[i];
      this.subscriptions.push(
        broker.subscribe(route.destination, (msg) => this.onMessage(route, msg), queue ? { queue } : {}),
      );
    });
  }

  protected async stopIntake(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
  }

  protected async closeTransport(): Promise<void> {
    this.broker = undefined;
  }

  protected publishReply(reply: OutboundMessage): void {
    const broker = this.broker;
    if (!broker) throw new Error('The server is closed');
    broker.publish({
      destination: reply.destination,
      body: reply.body,
      headers: reply.headers,
      contentType: reply.contentType,
      correlationId: reply.correlationId,
    });
  }

  private onMessage(route: Route, msg: MemoryMessage): void {
    const message: InboundMessage = {
      destination: msg.destination,
      pattern: route.pattern,
      body: msg.body,
      headers: msg.headers,
      contentType: msg.contentType,
      correlationId: msg.correlationId,
      replyTo: msg.replyTo,
    };
    void this.dispatch(message, new MemoryRpcContext([message, msg]));
  }

  private queueOf(route: Route): string | undefined {
    const own = route.extras.queue as unknown;
    checkQueue(`The queue of "${route.pattern}"`, own);
    const queue = own !== undefined ? (own as string | false) : (this.options.queue ?? DEFAULT_MEMORY_QUEUE);
    return queue === false ? undefined : queue;
  }
}
