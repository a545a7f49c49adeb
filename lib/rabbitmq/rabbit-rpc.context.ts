import type { Channel, ConsumeMessage, MessageProperties } from 'amqplib';
import { RpcContext } from '../core/rpc-context.js';
import type { InboundMessage } from '../core/wire.js';

/**
 * `@Ctx()` on RabbitMQ: the routing key, the AMQP properties, the redelivered flag, the amqplib message
 * and the channel it arrived on. The server acks the message itself once the handler's replies are out:
 * do not ack or nack it through the channel.
 */
export class RabbitRpcContext extends RpcContext<ConsumeMessage> {
  constructor(
    args: [InboundMessage, ConsumeMessage],
    private readonly channel: Channel,
  ) {
    super(args);
  }

  /** The routing key it was published with (the pattern may be a wildcard binding). */
  getRoutingKey(): string {
    return this.getMessage().fields.routingKey;
  }

  getExchange(): string {
    return this.getMessage().fields.exchange;
  }

  /** True when RabbitMQ delivered it before without an ack (a worker died): the handler runs again. */
  isRedelivered(): boolean {
    return this.getMessage().fields.redelivered;
  }

  getProperties(): MessageProperties {
    return this.getMessage().properties;
  }

  /** The amqplib channel it arrived on (Nest's `RmqContext` name). */
  getChannelRef(): Channel {
    return this.channel;
  }
}
