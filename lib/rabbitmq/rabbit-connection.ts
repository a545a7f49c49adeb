import amqp, { type ChannelModel, type Options, type RecoveringChannelModel } from 'amqplib';
import { RpcConnectionError } from '../core/errors.js';
import { describe } from '../core/rpc-client.js';
import type { RpcStatus } from '../core/status.js';
import type { PublishGate } from './rabbit-flow.js';
import { coalesceWrites } from './rabbit-coalesce.js';
import { UrlRotation } from './rabbit-urls.js';
import {
  DEFAULT_RABBIT_RECONNECT,
  DEFAULT_RABBIT_URL,
  type RabbitConnectionOptions,
} from './rabbit-rpc.options.js';

/** The part of Nest's `Logger` the link uses. */
export interface LinkLogger {
  warn(message: string): void;
  debug?(message: string): void;
}

/** What a client or server does as the connection comes and goes. */
export interface LinkHooks {
  /** Runs on every (re)connection before it is used: open channels, declare, consume. A failure drops that connection. */
  setup(model: ChannelModel): Promise<void>;
  /** The connection was lost; recovery (if on) is under way. Channels of the old connection are dead. */
  disconnected(error: Error): void;
  /** A lost connection is back (the first connection is not reported here). */
  reconnected(): void;
  reconnecting(attempt: number, delay: number): void;
  /** Recovery gave up, or is off: the connection is gone for good. */
  gaveUp(error: Error): void;
  blocked(reason: string): void;
  unblocked(): void;
}

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
 * One AMQP connection kept alive by amqplib's own connection recovery (`connect(url, { recovery })`,
 * amqplib >= 2.2): it reconnects with backoff and runs `setup` on every new connection, where the
 * adapter recreates its channels, redeclares what it owns and consumes again.
 */
export class RabbitLink {
  private connection?: RecoveringChannelModel | ChannelModel;
  private model?: ChannelModel;
  private closed = false;
  /** With several URLs: the connect object recovery reconnects to, moved on after each failed attempt. */
  private rotation?: UrlRotation;

  constructor(
    private readonly options: RabbitConnectionOptions,
    private readonly hooks: LinkHooks,
    private readonly logger: LinkLogger,
  ) {}

  /** The amqplib connection object: a `RecoveringChannelModel`, or a `ChannelModel` with `reconnect: false`. */
  get raw(): RecoveringChannelModel | ChannelModel | undefined {
    return this.connection;
  }

  /**
   * Connects to the first URL that accepts a connection and whose `setup` succeeds. Recovery later
   * retries the URL it lost first, then goes round the others, one failed attempt each.
   */
  async open(): Promise<void> {
    const urls = this.options.urls?.length ? this.options.urls : [DEFAULT_RABBIT_URL];
    this.rotation = urls.length > 1 ? new UrlRotation(urls) : undefined;
    let lastError: unknown;
    for (const [index, url] of urls.entries()) {
      if (this.closed) break;
      this.rotation?.select(index);
      try {
        this.connection = await this.connect(this.rotation?.target ?? url);
        return;
      } catch (err) {
        lastError = err;
        this.logger.debug?.(`Could not connect to ${redact(url)}: ${describe(err)}`);
      }
    }
    throw unwrapSetupError(lastError, urls);
  }

  /** Closes the connection for good (recovery stops). */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.model = undefined;
    await connection?.close().catch(() => undefined);
  }

  /**
   * A channel that died on a live connection (a channel error) is rebuilt by reconnecting. When the
   * whole connection is going, recovery has already forgotten the model by the next turn and this does nothing.
   */
  recycleAfterChannelLoss(model: ChannelModel): void {
    setImmediate(() => this.recycle(model, 'the channel was closed by the broker'));
  }

  /**
   * Drops the current connection so recovery builds everything again (with backoff): used when a
   * channel died while its connection lived on, e.g. a consumer cancelled by the broker.
   */
  recycle(model: ChannelModel | undefined, reason: string): void {
    if (this.closed || !model || model !== this.model) return;
    this.logger.warn(`Reconnecting: ${reason}`);
    void model.close().catch(() => undefined);
  }

  private async connect(url: string | Options.Connect): Promise<RecoveringChannelModel | ChannelModel> {
    // Request/reply is latency-bound: without TCP_NODELAY (amqplib's default is off) Nagle's algorithm
    // meets delayed ACKs and a lone request waits ~40 ms.
    const socketOptions = { noDelay: true, ...this.options.socketOptions };
    const setup = async (model: ChannelModel) => {
      // amqplib's recovery runs setup before it listens to the new model itself, and a ChannelModel
      // re-emits its connection's errors: a forced close or a heartbeat timeout during setup would be
      // an 'error' event without a listener, which throws and ends the process.
      model.on('error', (err: Error) => this.logger.debug?.(`Connection error: ${err.message}`));
      this.model = model;
      if (this.options.coalesceWrites !== false && !coalesceWrites(model)) {
        this.logger.debug?.(
          'amqplib internals differ from what coalesceWrites expects; writing frames one by one',
        );
      }
      await this.hooks.setup(model);
    };
    if (this.options.reconnect === false) {
      const model = await amqp.connect(url, socketOptions);
      this.watch(model, false);
      model.on('close', (err?: Error) => {
        if (this.closed) return;
        const error = err ?? new Error('Connection closed');
        this.hooks.disconnected(error);
        this.hooks.gaveUp(error);
      });
      try {
        await setup(model);
      } catch (err) {
        await model.close().catch(() => undefined);
        throw err;
      }
      return model;
    }
    const recovery = { ...DEFAULT_RABBIT_RECONNECT, ...this.options.reconnect, setup, waitForConnect: true };
    const connection: RecoveringChannelModel | ChannelModel = await amqp.connect(url, {
      ...socketOptions,
      recovery,
    });
    if (typeof (connection as Partial<RecoveringChannelModel>).waitForConnect !== 'function') {
      // amqplib before 1.1 ignores `recovery` (and never runs `setup`): fail clearly instead of half-working.
      await connection.close().catch(() => undefined);
      throw new RpcConnectionError(
        'nestjs-broker-rpc/rabbitmq needs amqplib >= 2.2 (connection recovery); upgrade amqplib',
      );
    }
    this.watch(connection, true);
    return connection;
  }

  private watch(connection: RecoveringChannelModel | ChannelModel, recovering: boolean): void {
    connection.on('error', (err: Error) => this.logger.debug?.(`Connection error: ${err.message}`));
    connection.on('blocked', (reason: string) => this.hooks.blocked(reason));
    connection.on('unblocked', () => this.hooks.unblocked());
    if (!recovering) return;
    connection.on('disconnect', (err: Error) => {
      if (this.closed) return;
      this.model = undefined;
      this.hooks.disconnected(err);
    });
    connection.on('connect', () => {
      if (this.closed) return;
      if (this.rotation) this.logger.debug?.(`Reconnected to ${redact(this.rotation.current)}`);
      this.hooks.reconnected();
    });
    connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) => {
      if (!this.closed) this.hooks.reconnecting(attempt, delay);
    });
    connection.on('connect-failed', (err: Error) => {
      if (this.closed) return;
      const failed = this.rotation?.current;
      const next = this.rotation?.next(); // amqplib reads the target again for its next attempt
      this.logger.warn(
        failed === undefined
          ? `Reconnection attempt failed: ${err.message}`
          : `Reconnection attempt to ${redact(failed)} failed: ${err.message}; next attempt: ${redact(next!)}`,
      );
    });
    connection.on('reconnect-failed', (err: Error) => {
      if (!this.closed) this.hooks.gaveUp(err);
    });
  }
}

/** Setup errors (a refused declaration) are the adapter's own and clear already; connection errors get the URLs. */
function unwrapSetupError(err: unknown, urls: Array<string | Options.Connect>): Error {
  if (err instanceof Error && err.name === 'RabbitTopologyError') return err;
  return new RpcConnectionError(
    `Could not connect to RabbitMQ at ${urls.map(redact).join(', ')}: ${describe(err)}`,
    { cause: err },
  );
}

/** A URL without its password, for messages. */
function redact(url: string | Options.Connect): string {
  if (typeof url !== 'string')
    return `${url.protocol ?? 'amqp'}://${url.hostname ?? 'localhost'}:${url.port ?? 5672}`;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
