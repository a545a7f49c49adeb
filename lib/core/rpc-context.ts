import { BaseRpcContext } from '@nestjs/microservices';
import type { HeaderMap, InboundMessage } from './wire.js';

/** What `@Ctx()` gives a handler, on every broker. Adapters extend it with broker specifics. */
export class RpcContext<TRaw = unknown> extends BaseRpcContext<[InboundMessage, TRaw]> {
  /** The handler pattern the message was delivered for. */
  getPattern(): string {
    return this.args[0].pattern;
  }
  /** The concrete destination (subject, topic, routing key) it arrived on. */
  getDestination(): string {
    return this.args[0].destination;
  }
  /** Request headers, wire headers included. */
  getHeaders(): HeaderMap {
    return this.args[0].headers;
  }
  getCorrelationId(): string | undefined {
    return this.args[0].correlationId;
  }
  getReplyTo(): string | undefined {
    return this.args[0].replyTo;
  }
  /** The broker client's own message object. */
  getMessage(): TRaw {
    return this.args[1];
  }
}
