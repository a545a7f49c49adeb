import amqp, { type ChannelModel, type Options, type RecoveringChannelModel } from 'amqplib';
import { RpcConnectionError } from '../core/errors.js';
import { describe } from '../core/describe.js';
import { rabbitRefusal } from './rabbit-refusal.js';
import { isTopologyError } from './rabbit-topology.js';
import { coalesceWrites } from './rabbit-coalesce.js';
import { cutSocket } from './rabbit-cut.js';
import { UrlRotation } from './rabbit-urls.js';
import {
  DEFAULT_RABBIT_CONNECT_TIMEOUT,
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
 * One AMQP connection kept alive by amqplib's own connection recovery (`connect(url, { recovery })`,
 * amqplib >= 2.2): it reconnects with backoff and runs `setup` on every new connection, where the
 * adapter recreates its channels, redeclares what it owns and consumes again.
 */
export class RabbitLink {
  private connection?: RecoveringChannelModel | ChannelModel;
  private model?: ChannelModel;
  /** The model `close()` is closing: what `cut()` ends if the broker never answers. */
  private closing?: ChannelModel;
  private closed = false;
  /** The first connection is up: from now on, connection events are reconnections. */
  private opened = false;
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
   * Connects to the first URL that accepts a connection and whose `setup` succeeds: attempts go round
   * the URLs, `initialMaxRetries + 1` rounds, with amqplib's backoff between attempts. Recovery later
   * retries the URL it lost first, then goes round the others, one failed attempt each. A topology
   * error fails at once: it is the same on every node.
   */
  async open(): Promise<void> {
    const urls = this.options.urls?.length ? this.options.urls : [DEFAULT_RABBIT_URL];
    this.rotation = urls.length > 1 ? new UrlRotation(urls) : undefined;
    if (this.options.reconnect !== false) {
      await this.connectRecovering(this.rotation?.target ?? urls[0]!, urls.length); // sets this.connection
      return;
    }
    let lastError: unknown;
    for (const [index, url] of urls.entries()) {
      if (this.closed) break;
      this.rotation?.select(index);
      try {
        this.connection = await this.connectOnce(this.rotation?.target ?? url);
        return;
      } catch (err) {
        if (isTopologyError(err)) throw err;
        // refused credentials or certificate: the same on every node, so no other URL is tried
        const refused = rabbitRefusal(err, this.options);
        if (refused) throw refused;
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
    this.closing = this.model;
    this.model = undefined;
    await connection?.close().catch(() => undefined);
  }

  /** The broker did not answer the close: ends the connection's socket at once. */
  cut(): void {
    this.closed = true;
    const model = this.model ?? this.closing;
    if (model && !cutSocket(model, 'The broker did not confirm the close; the connection was cut')) {
      this.logger.warn(
        'amqplib internals differ from what cutting a connection expects; it ends when its heartbeat times out',
      );
    }
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

  /** Opens a model, and runs the adapter's setup on it (and on every model recovery opens). */
  private async setupModel(model: ChannelModel): Promise<void> {
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
  }

  private socketOptions(): Record<string, unknown> {
    // Request/reply is latency-bound: without TCP_NODELAY (amqplib's default is off) Nagle's algorithm
    // meets delayed ACKs and a lone request waits ~40 ms. A connect timeout, so that a node that drops
    // packets fails its attempt (and failover moves on) instead of waiting for the OS to give up.
    return { noDelay: true, timeout: DEFAULT_RABBIT_CONNECT_TIMEOUT, ...this.options.socketOptions };
  }

  private async connectOnce(url: string | Options.Connect): Promise<ChannelModel> {
    const model = await amqp.connect(url, this.socketOptions());
    this.watch(model, false);
    try {
      await this.setupModel(model);
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    // only now: closing a model whose setup failed is not the link giving up (open() tries the next URL)
    model.on('close', (err?: Error) => {
      if (this.closed) return;
      const error = err ?? new Error('Connection closed');
      this.hooks.disconnected(error);
      this.hooks.gaveUp(error);
    });
    if (this.closed) {
      await model.close().catch(() => undefined);
      throw new RpcConnectionError('The connection was closed while it opened');
    }
    return model;
  }

  private async connectRecovering(
    url: string | Options.Connect,
    urlCount: number,
  ): Promise<RecoveringChannelModel> {
    const settings = { ...DEFAULT_RABBIT_RECONNECT, ...this.options.reconnect };
    let fatal: Error | undefined;
    const setup = async (model: ChannelModel) => {
      try {
        await this.setupModel(model);
      } catch (err) {
        if (!this.opened && isTopologyError(err)) fatal = err;
        throw err;
      }
    };
    const connection = (await amqp.connect(url, {
      ...this.socketOptions(),
      recovery: {
        ...settings,
        // initialMaxRetries + 1 rounds of the URLs (the rotation moves on after each failed attempt)
        initialMaxRetries: ((settings.initialMaxRetries ?? 0) + 1) * urlCount - 1,
        setup,
        // listeners go on before the first attempt (amqplib defers it), then this waits for it
        waitForConnect: false,
      },
    })) as RecoveringChannelModel | ChannelModel;
    if (typeof (connection as Partial<RecoveringChannelModel>).waitForConnect !== 'function') {
      // amqplib before 1.1 ignores `recovery` (and never runs `setup`): fail clearly instead of half-working.
      await connection.close().catch(() => undefined);
      throw new RpcConnectionError(
        'nestjs-broker-rpc/rabbitmq needs amqplib >= 2.2 (connection recovery); upgrade amqplib',
      );
    }
    const recovering = connection as RecoveringChannelModel;
    if (this.closed) {
      await recovering.close().catch(() => undefined);
      throw new RpcConnectionError('The connection was closed while it opened');
    }
    this.connection = recovering; // so that close() during the first attempts stops them
    this.watch(recovering, true);
    recovering.on('connect-failed', (err: Error) => {
      // refused credentials or certificate fail the first connect at once: no retry would succeed
      if (!this.opened) fatal ??= rabbitRefusal(err, this.options);
      if (fatal) void recovering.close().catch(() => undefined);
    });
    try {
      await recovering.waitForConnect();
    } catch (err) {
      await recovering.close().catch(() => undefined);
      if (this.connection === recovering) this.connection = undefined;
      throw (
        fatal ??
        rabbitRefusal(err, this.options) ??
        unwrapSetupError(err, this.options.urls?.length ? this.options.urls : [DEFAULT_RABBIT_URL])
      );
    }
    this.opened = true;
    return recovering;
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
      if (this.closed || !this.opened) return;
      if (this.rotation) this.logger.debug?.(`Reconnected to ${redact(this.rotation.current)}`);
      this.hooks.reconnected();
    });
    connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) => {
      if (!this.closed && this.opened) this.hooks.reconnecting(attempt, delay);
    });
    connection.on('connect-failed', (err: Error) => {
      if (this.closed) return;
      const failed = this.rotation?.current;
      const next = this.rotation?.next(); // amqplib reads the target again for its next attempt
      const what = failed === undefined ? '' : ` to ${redact(failed)}`;
      const then = next === undefined ? '' : `; next attempt: ${redact(next)}`;
      if (this.opened) this.logger.warn(`Reconnection attempt${what} failed: ${err.message}${then}`);
      else this.logger.debug?.(`Connection attempt${what} failed: ${err.message}${then}`);
    });
    connection.on('reconnect-failed', (err: Error) => {
      if (!this.closed && this.opened) this.hooks.gaveUp(err);
    });
  }
}

/** Setup errors (a refused declaration) are the adapter's own and clear already; connection errors get the URLs. */
function unwrapSetupError(err: unknown, urls: Array<string | Options.Connect>): Error {
  if (isTopologyError(err)) return err;
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
