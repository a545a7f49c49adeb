import type { JsMsg } from '@nats-io/jetstream';
import { RpcContext } from '../../core/rpc-context.js';

/** `@Ctx()` on NATS in JetStream mode: the subject, the headers, the delivery count and the JetStream message. */
export class NatsJetStreamRpcContext extends RpcContext<JsMsg> {
  /** The concrete subject (the pattern may be a wildcard). */
  getSubject(): string {
    return this.getDestination();
  }
  /** How many times this message was delivered, this time included (1 on the first delivery). */
  getDeliveryCount(): number {
    return this.getMessage().info.deliveryCount;
  }
}
