import type { Channel, ChannelModel } from 'amqplib';
import type { RpcStatus } from '../core/status.js';
import { PublishGate } from './rabbit-flow.js';
import { type LinkHooks, type LinkLogger, RabbitLink } from './rabbit-link.js';
import type { RabbitConnectionOptions } from './rabbit-rpc.options.js';

/**
 * Channel first: its close goes out behind what it published (replies, acks, events), and close-ok
 * means the broker has them. Closing only the connection can overtake frames still queued on the channel.
 */
export async function closeChannelThenLink(
  channel: { close(): Promise<void> } | undefined,
  link: RabbitLink | undefined,
): Promise<void> {
  await channel?.close().catch(() => undefined);
  await link?.close();
}

/**
 * The hooks both sides wire alike: a lost connection drops the channel and reports its status,
 * flow control opens and closes the publish gate. Only giving up differs per side.
 */
export function standardHooks(side: {
  setup(model: ChannelModel): Promise<void>;
  dropChannel(): void;
  emitStatus(status: RpcStatus, ...args: unknown[]): void;
  gate: PublishGate;
  gaveUp(error: Error): void;
}): LinkHooks {
  return {
    setup: (model) => side.setup(model),
    disconnected: (err) => {
      side.dropChannel();
      side.emitStatus('disconnected', err);
    },
    reconnected: () => side.emitStatus('connected'),
    reconnecting: () => side.emitStatus('reconnecting'),
    gaveUp: (err) => {
      side.dropChannel();
      side.gaveUp(err);
      side.emitStatus('disconnected', err);
    },
    blocked: (reason) => {
      side.gate.block(reason);
      side.emitStatus('blocked', reason);
    },
    unblocked: () => {
      side.gate.unblock();
      side.emitStatus('unblocked');
    },
  };
}

/**
 * What a client and a server each hold of RabbitMQ: the link, its current channel and the channel's
 * publish gate. Opening, closing and losing the channel work the same on both sides.
 */
export class RabbitSession {
  link?: RabbitLink;
  channel?: Channel;
  /** The link `close()` is closing: what `cut()` ends. */
  private closing?: RabbitLink;
  readonly gate = new PublishGate();

  /** Opens a link wired with the standard hooks; on failure nothing is left open. */
  async open(
    options: RabbitConnectionOptions,
    side: Omit<Parameters<typeof standardHooks>[0], 'gate'>,
    logger: LinkLogger,
  ): Promise<void> {
    const link = new RabbitLink(options, standardHooks({ ...side, gate: this.gate }), logger);
    this.link = link;
    try {
      await link.open();
    } catch (err) {
      if (this.link === link) this.link = undefined;
      throw err;
    }
  }

  /** A channel set up on a (new) connection becomes the current one. */
  adopt(channel: Channel): void {
    this.channel = channel;
    this.gate.reset();
  }

  /** The current channel is gone (its connection too, or not): forget it. */
  drop(): void {
    this.channel = undefined;
    this.gate.reset();
  }

  /** A channel closed: if it is the current one, `drop` it and have the link rebuild everything. */
  channelClosed(channel: Channel, model: ChannelModel, drop: () => void): void {
    if (this.channel !== channel) return;
    drop();
    this.link?.recycleAfterChannelLoss(model);
  }

  /** Closes the channel (flushing what it published), then the link. */
  async close(): Promise<void> {
    const { link, channel } = this;
    this.closing = link;
    this.link = undefined;
    this.channel = undefined;
    this.gate.reset();
    await closeChannelThenLink(channel, link);
  }

  /** The broker did not answer the close: ends the connection at once. */
  cut(): void {
    (this.link ?? this.closing)?.cut();
  }
}
