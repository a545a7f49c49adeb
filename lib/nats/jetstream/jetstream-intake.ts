import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Route } from '../../core/rpc-server.js';

/** One handler's consumer: the route it serves and its durable name. */
export interface IntakeRoute {
  route: Route;
  durable: string;
}

/**
 * Pulls from one durable consumer per handler and hands each message to `onMessage`. At most
 * `maxMessages` per consumer are delivered and unacked at once (they wait in the server's queue).
 */
export class JetStreamIntake {
  private running: ConsumerMessages[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly maxMessages: number,
    private readonly onMessage: (route: Route, msg: JsMsg) => void,
  ) {}

  async start(routes: readonly IntakeRoute[]): Promise<void> {
    for (const { route, durable } of routes) {
      const consumer = await this.js.consumers.get(this.stream, durable);
      this.running.push(
        await consumer.consume({
          max_messages: this.maxMessages,
          callback: (msg) => this.onMessage(route, msg),
        }),
      );
    }
  }

  /** Stops pulling; messages delivered already are still handled and acked (or nak'ed). */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = [];
    await Promise.all(running.map((messages) => messages.close().catch(() => undefined)));
  }
}

/**
 * Sends a `working` ack every `interval` ms until the returned stop is called, so a message that
 * waits for a slot or whose handler runs longer than `ackWait` is not redelivered meanwhile.
 */
export function keepWorking(msg: JsMsg, interval: number): () => void {
  const timer = setInterval(() => {
    try {
      msg.working();
    } catch {
      // the connection closed under a handler that outlived closeTimeout: nats-server redelivers it
    }
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
