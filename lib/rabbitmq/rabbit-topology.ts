import type { Channel, ChannelModel } from 'amqplib';
import type { RpcErrorCode } from '../core/errors.js';
import type { RabbitQueueOptions, ResolvedExchange } from './rabbit-rpc.options.js';

/**
 * A queue or exchange could not be used as configured: declared elsewhere with other arguments
 * (`replyCode` 406), or missing where only a check was asked for (404). Not an `RpcError`, so that
 * `connect()`/`listen()` still wrap it in an `RpcConnectionError` (it is that error's `cause`).
 */
export class RabbitTopologyError extends Error {
  override name = 'RabbitTopologyError';
  readonly code: RpcErrorCode = 'RPC_TOPOLOGY';
  constructor(
    readonly kind: 'queue' | 'exchange',
    readonly entity: string,
    readonly replyCode: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A `RabbitTopologyError`, recognised by its code (also across duplicate copies of the package). */
export function isTopologyError(err: unknown): err is RabbitTopologyError {
  return err instanceof Error && (err as { code?: unknown }).code === 'RPC_TOPOLOGY';
}

/** The arguments `assertQueue` gets for these options. */
export function queueArguments(options: RabbitQueueOptions): {
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
} {
  const args: Record<string, unknown> = { ...options.arguments };
  if (options.quorum) args['x-queue-type'] = 'quorum';
  if (options.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = options.deadLetterExchange;
  if (options.deadLetterRoutingKey !== undefined)
    args['x-dead-letter-routing-key'] = options.deadLetterRoutingKey;
  return {
    // A quorum queue is always durable and never auto-deleted; RabbitMQ refuses anything else.
    durable: options.quorum ? true : (options.durable ?? false),
    autoDelete: options.quorum ? false : (options.autoDelete ?? false),
    arguments: args,
  };
}

/** Whether rejected messages of a queue with these options are dead-lettered rather than dropped. */
export function hasDeadLetterExchange(options: RabbitQueueOptions): boolean {
  return (
    options.deadLetterExchange !== undefined || options.arguments?.['x-dead-letter-exchange'] !== undefined
  );
}

/**
 * Declares (or, passive, checks) exchanges, queues and bindings on a channel of its own, so that a
 * refused declaration (which closes its channel) surfaces as a `RabbitTopologyError` naming the
 * queue and the mismatch, and never leaves a dead consuming channel behind.
 */
export async function declareTopology(
  model: ChannelModel,
  plan: {
    exchange?: ResolvedExchange;
    queues?: Array<{ name: string; options: RabbitQueueOptions; bindings?: string[] }>;
  },
): Promise<void> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined); // the refusal is reported through the rejected call below
  try {
    const ex = plan.exchange;
    if (ex) {
      await (
        ex.passive
          ? ch.checkExchange(ex.name)
          : ch.assertExchange(ex.name, ex.type, { durable: ex.durable, arguments: ex.arguments })
      ).catch((err: unknown) => {
        throw topologyError('exchange', ex.name, ex.passive, err);
      });
    }
    for (const queue of plan.queues ?? []) {
      await declareQueue(ch, queue.name, queue.options);
      if (ex && !queue.options.passive) {
        for (const key of queue.bindings ?? []) await ch.bindQueue(queue.name, ex.name, key);
      }
    }
  } finally {
    await ch.close().catch(() => undefined); // already closed by the broker after a refusal
  }
}

async function declareQueue(ch: Channel, name: string, options: RabbitQueueOptions): Promise<void> {
  try {
    if (options.passive) await ch.checkQueue(name);
    else await ch.assertQueue(name, { exclusive: false, ...queueArguments(options) });
  } catch (err) {
    throw topologyError('queue', name, options.passive ?? false, err);
  }
}

function topologyError(
  kind: 'queue' | 'exchange',
  name: string,
  passive: boolean,
  err: unknown,
): RabbitTopologyError {
  const code = (err as { code?: unknown })?.code;
  const replyCode = typeof code === 'number' ? code : undefined;
  const text = brokerText(err);
  const What = kind === 'queue' ? 'Queue' : 'Exchange';
  let message: string;
  if (replyCode === 406) {
    message = `${What} "${name}" already exists with different settings: ${text}. Declare it with the same options, delete it, or set \`passive\` to use it as it is.`;
  } else if (replyCode === 404 && passive) {
    message = `${What} "${name}" does not exist, and \`passive\` is set, so it is only checked, not declared (${text}).`;
  } else {
    message = `Could not declare ${kind} "${name}": ${text}`;
  }
  return new RabbitTopologyError(kind, name, replyCode, message, { cause: err });
}

/** The broker's own words from an amqplib channel-close error: `PRECONDITION_FAILED - inequivalent arg …`. */
function brokerText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /with message "(.*)"$/s.exec(message);
  return quoted ? quoted[1]! : message;
}

/**
 * Matches a routing key against a topic binding key: words are separated by dots, `*` stands for
 * exactly one word and `#` for zero or more.
 */
export function topicMatches(binding: string, routingKey: string): boolean {
  return matchWords(binding.split('.'), routingKey.split('.'), 0, 0);
}

function matchWords(b: string[], k: string[], i: number, j: number): boolean {
  while (i < b.length) {
    const word = b[i]!;
    if (word === '#') {
      if (i === b.length - 1) return true;
      for (let skip = j; skip <= k.length; skip++) if (matchWords(b, k, i + 1, skip)) return true;
      return false;
    }
    if (j >= k.length || (word !== '*' && word !== k[j])) return false;
    i++;
    j++;
  }
  return j === k.length;
}

export function isWildcard(pattern: string): boolean {
  return pattern.split('.').some((w) => w === '*' || w === '#');
}

/**
 * Finds the handler for a routing key on a queue that several patterns are bound to: the exact
 * pattern if there is one, else the first wildcard pattern that matches, in declaration order.
 */
export class RoutingTable {
  private readonly exact = new Map<string, string>();
  private readonly wildcards: Array<{ binding: string; pattern: string }> = [];
  private readonly cache = new Map<string, string | undefined>();

  constructor(entries: Array<{ binding: string; pattern: string }>, topic: boolean) {
    for (const e of entries) {
      if (topic && isWildcard(e.binding)) this.wildcards.push(e);
      else if (!this.exact.has(e.binding)) this.exact.set(e.binding, e.pattern);
    }
  }

  patternFor(routingKey: string): string | undefined {
    const exact = this.exact.get(routingKey);
    if (exact !== undefined || this.wildcards.length === 0) return exact;
    if (this.cache.has(routingKey)) return this.cache.get(routingKey);
    const found = this.wildcards.find((w) => topicMatches(w.binding, routingKey))?.pattern;
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(routingKey, found);
    return found;
  }
}
