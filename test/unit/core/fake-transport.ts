// In-memory stand-in for a broker, for unit tests of the broker-agnostic core only.
import { RpcPayloadTooLargeError } from '../../../lib/core/errors.js';
import { type ActiveRequest, type OutboundRequest, RpcClient } from '../../../lib/core/rpc-client.js';
import { RpcContext } from '../../../lib/core/rpc-context.js';
import { type Route, RpcServer } from '../../../lib/core/rpc-server.js';
import type { RpcClientOptions, RpcServerOptions } from '../../../lib/core/options.js';
import type { InboundMessage, OutboundMessage } from '../../../lib/core/wire.js';

export class FakeBroker {
  readonly routes = new Map<string, (msg: OutboundMessage) => void>();
  readonly inboxes = new Map<string, (msg: OutboundMessage) => void>();
  readonly published: OutboundMessage[] = [];
  maxPayload = Infinity;

  deliver(msg: OutboundMessage): void {
    if (msg.body.length > this.maxPayload)
      throw new RpcPayloadTooLargeError(msg.destination, msg.body.length, this.maxPayload);
    this.published.push(msg);
    const target = this.routes.get(msg.destination) ?? this.inboxes.get(msg.destination);
    if (target) queueMicrotask(() => target(msg));
  }
}

export class FakeClient extends RpcClient<RpcClientOptions> {
  connects = 0;
  failNextConnect = false;
  constructor(
    private readonly broker: FakeBroker,
    options: RpcClientOptions = {},
  ) {
    super(options);
  }
  unwrap<T>(): T {
    return this.broker as T;
  }
  protected async connectTransport(): Promise<void> {
    this.connects++;
    await Promise.resolve();
    if (this.failNextConnect) {
      this.failNextConnect = false;
      throw new Error('refused');
    }
    this.broker.inboxes.set('inbox', (msg) => this.handleReply(msg.correlationId!, msg));
  }
  protected async closeTransport(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // a close that takes a moment, as a real one does
    this.broker.inboxes.delete('inbox');
  }
  protected publishRequest(request: OutboundRequest, entry: ActiveRequest): void {
    this.broker.deliver({ ...request, correlationId: entry.correlationId, replyTo: 'inbox' });
  }
  protected async publishEvent(event: OutboundRequest): Promise<void> {
    this.broker.deliver(event);
  }
  protected override publishCancel(cancel: OutboundMessage): void {
    this.broker.deliver(cancel);
  }
}

export class FakeServer extends RpcServer<RpcServerOptions> {
  /** When set, startTransport waits for it before subscribing. */
  startGate?: Promise<void>;
  /** Called as startTransport begins. */
  onStart?: () => void;
  constructor(
    private readonly broker: FakeBroker,
    options: RpcServerOptions = {},
  ) {
    super(options);
  }
  unwrap<T>(): T {
    return this.broker as T;
  }
  /** Set to false for a server that takes no cancel messages (Kafka's case). */
  takesCancels = true;
  /** Running streams, for tests. */
  get streamCount(): number {
    return this.streams.size;
  }
  protected async startTransport(routes: Route[]): Promise<void> {
    this.onStart?.();
    await this.startGate;
    if (this.takesCancels) {
      const cancelTo = `cancel.${this.streams.instance}`;
      this.streams.cancelTo = cancelTo;
      this.broker.routes.set(cancelTo, (msg) => this.streams.cancel(msg.headers['rpc-attempt']));
    }
    for (const route of routes) {
      this.broker.routes.set(route.destination, (msg) => {
        const inbound: InboundMessage = { ...msg, pattern: route.pattern };
        void this.dispatch(inbound, new RpcContext([inbound, msg]));
      });
    }
  }
  protected async stopIntake(): Promise<void> {
    this.broker.routes.clear();
  }
  protected async closeTransport(): Promise<void> {}
  protected publishReply(reply: OutboundMessage): void {
    this.broker.deliver(reply);
  }
}
