import type { Channel, ConsumeMessage, Message, MessageProperties } from 'amqplib';
import { RpcContext } from '../core/rpc-context.js';
import type { InboundMessage } from '../core/wire.js';

let claim: (ctx: RabbitRpcContext) => boolean;

/**
 * Claims the one settlement of the context's message: true for the first caller only, be it the
 * handler (through `getChannelRef()`) or the server once the replies are out. Not part of the public
 * API (the package's entry point does not export it): a handler that claimed without settling would
 * leave its message unacked.
 */
export function claimSettlement(ctx: RabbitRpcContext): boolean {
  return claim(ctx);
}

/**
 * `@Ctx()` on RabbitMQ: the routing key, the AMQP properties, the redelivered flag, the amqplib message
 * and the channel it arrived on. The server acks the message itself once the handler's replies are out.
 * A handler written for Nest's built-in transport may still ack, nack or reject it through
 * `getChannelRef()`: the server then leaves it alone instead of settling it twice (which would make the
 * broker close the channel, and every request in flight on it would be redelivered).
 */
export class RabbitRpcContext extends RpcContext<ConsumeMessage> {
  private settled = false;
  private guarded?: Channel;

  static {
    claim = (ctx) => {
      if (ctx.settled) return false;
      ctx.settled = true;
      return true;
    };
  }

  constructor(
    args: [InboundMessage, ConsumeMessage],
    private readonly channel: Channel,
    /** The server consumes with `noAck`: there is nothing to settle. */
    private readonly noAck = false,
    /** Told when the handler settles the message after it was settled already: that call is dropped. */
    private readonly dropped?: (text: string) => void,
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

  /**
   * The amqplib channel it arrived on (Nest's `RmqContext` name), behind a wrapper: its `ack`, `nack`
   * and `reject` of this message settle it once, and only it (`allUpTo` is not followed: the other
   * messages on the channel belong to other handlers); with `noAck`, or once settled, they do nothing.
   * `ackAll` and `nackAll` throw, for the same reason. Other methods are the channel's own.
   */
  getChannelRef(): Channel {
    return (this.guarded ??= this.guard());
  }

  private guard(): Channel {
    const own = this.getMessage();
    const tag = own.fields.deliveryTag;
    const channel = this.channel;
    const settleOnce =
      (kind: 'ack' | 'nack' | 'reject') =>
      (msg: Message, ...rest: unknown[]): void => {
        // Delivery tags are per channel, and this is the message's channel: a copy of it matches too.
        if (msg?.fields?.deliveryTag !== tag)
          return (channel[kind] as (...args: unknown[]) => void).call(channel, msg, ...rest);
        if (!claimSettlement(this)) {
          this.dropped?.(
            `${kind}() of a message from "${own.fields.routingKey}" was ignored: it was settled already (the server acks each request once its replies are out)`,
          );
          return;
        }
        if (this.noAck) return;
        // Only this message: `allUpTo` would settle requests other handlers are still working on.
        if (kind === 'ack') channel.ack(own, false);
        else if (kind === 'nack') channel.nack(own, false, rest[1] as boolean | undefined);
        else channel.reject(own, rest[0] as boolean | undefined);
      };
    const refuse = (name: string) => (): never => {
      throw new Error(
        `${name}() would settle requests other handlers are still working on; the server acks each request once its replies are out`,
      );
    };
    const overrides: Record<PropertyKey, unknown> = {
      ack: settleOnce('ack'),
      nack: settleOnce('nack'),
      reject: settleOnce('reject'),
      ackAll: refuse('ackAll'),
      nackAll: refuse('nackAll'),
    };
    // One wrapper per method, and chained calls (`on()` returns the channel) stay behind the proxy.
    const wrapped = new WeakMap<(...args: unknown[]) => unknown, (...args: unknown[]) => unknown>();
    const proxy: Channel = new Proxy(channel, {
      get(target, prop) {
        if (Object.hasOwn(overrides, prop)) return overrides[prop];
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        let wrapper = wrapped.get(method);
        if (!wrapper) {
          wrapper = (...args: unknown[]) => {
            const result = method.apply(target, args);
            return result === target ? proxy : result;
          };
          wrapped.set(method, wrapper);
        }
        return wrapper;
      },
    });
    return proxy;
  }
}
