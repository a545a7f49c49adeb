import { setImmediate } from 'node:timers';
import { Logger } from '@nestjs/common';
import { RpcPayloadTooLargeError } from '../core/errors.js';
import type { HeaderMap } from '../core/wire.js';
import { hasWildcard, subjectMatches } from '../core/subjects.js';

/** A message as it travels through a `MemoryBroker`: bytes and string headers, nothing shared with the sender. */
export interface MemoryMessage {
  /** The subject it was published to. */
  readonly destination: string;
  readonly body: Uint8Array;
  readonly headers: HeaderMap;
  readonly contentType?: string;
  readonly correlationId?: string;
  /** Where replies go. */
  readonly replyTo?: string;
  /** Set on the broker's own notice to a requester: nothing received its request. */
  readonly status?: 'no-responders';
}

export interface MemorySubscribeOptions {
  /** Queue group: each message goes to one member of the group. Default: none (every subscription gets it). */
  queue?: string;
}

/** What `subscribe` returns. */
export interface MemorySubscription {
  readonly subject: string;
  readonly queue?: string;
  /** Stops deliveries to this subscription, also of messages published before and not delivered yet. */
  unsubscribe(): void;
}

export interface MemoryBrokerOptions {
  /** Largest body in bytes the broker accepts; a larger one fails with `RpcPayloadTooLargeError`. Default `DEFAULT_MEMORY_MAX_PAYLOAD`. */
  maxPayload?: number;
}

export const DEFAULT_MEMORY_MAX_PAYLOAD = Number.POSITIVE_INFINITY; // bytes: no limit

interface Entry extends MemorySubscription {
  readonly handler: (message: MemoryMessage) => void;
  active: boolean;
}

interface Queued {
  message: MemoryMessage;
  /** Tell `replyTo` when nothing receives it. */
  request: boolean;
}

const DEFAULT_KEY = Symbol.for('nestjs-broker-rpc.memory-broker.default');
const BRAND = Symbol.for('nestjs-broker-rpc.memory-broker');
const EMPTY = new Uint8Array(0);

/**
 * An in-process message broker with NATS semantics: subjects with `*`/`>` wildcards, queue groups,
 * and a no-responders notice for requests nothing receives. Every delivery happens on a later turn
 * of the event loop (a real `setImmediate`, which fake timers leave alone), never in the publisher's
 * call stack, and each receiver gets its own copy of the bytes.
 */
export class MemoryBroker {
  readonly [BRAND] = true;
  readonly maxPayload: number;
  private readonly logger = new Logger('MemoryBroker');
  private readonly exact = new Map<string, Set<Entry>>();
  private readonly wildcards = new Set<Entry>();
  /** Next member per queue group and subject: round robin. */
  private readonly turns = new Map<string, number>();
  private queued: Queued[] = [];
  private scheduled = false;

  /**
   * The process's shared broker, used by every memory client and server given no `broker`. Shared
   * through a global symbol, so an ESM and a CommonJS copy of the package see the same one.
   */
  static get default(): MemoryBroker {
    const registry = globalThis as { [DEFAULT_KEY]?: MemoryBroker };
    return (registry[DEFAULT_KEY] ??= new MemoryBroker());
  }

  /** Whether `value` is a `MemoryBroker`, also one from another copy of the package. */
  static is(value: unknown): value is MemoryBroker {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  constructor(options: MemoryBrokerOptions = {}) {
    const maxPayload = options.maxPayload ?? DEFAULT_MEMORY_MAX_PAYLOAD;
    if (
      typeof maxPayload !== 'number' ||
      !(maxPayload === Number.POSITIVE_INFINITY || (Number.isInteger(maxPayload) && maxPayload >= 1))
    )
      throw new RangeError(
        `maxPayload must be a whole number of bytes from 1, or Infinity, got ${maxPayload}`,
      );
    this.maxPayload = maxPayload;
  }

  /** Live subscriptions, replies inboxes included. */
  get subscriptionCount(): number {
    let count = this.wildcards.size;
    for (const set of this.exact.values()) count += set.size;
    return count;
  }

  subscribe(
    subject: string,
    handler: (message: MemoryMessage) => void,
    options: MemorySubscribeOptions = {},
  ): MemorySubscription {
    if (typeof subject !== 'string' || subject.length === 0)
      throw new TypeError(`subject must be a non-empty string, got ${String(subject)}`);
    if (options.queue !== undefined && (typeof options.queue !== 'string' || options.queue.length === 0))
      throw new TypeError(`queue must be a non-empty string, got ${String(options.queue)}`);
    const wildcard = hasWildcard(subject);
    const entry: Entry = {
      subject,
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      handler,
      active: true,
      unsubscribe: () => {
        if (!entry.active) return;
        entry.active = false;
        if (wildcard) this.wildcards.delete(entry);
        else {
          const set = this.exact.get(subject);
          set?.delete(entry);
          if (set?.size === 0) this.exact.delete(subject);
        }
      },
    };
    if (wildcard) this.wildcards.add(entry);
    else {
      let set = this.exact.get(subject);
      if (!set) this.exact.set(subject, (set = new Set()));
      set.add(entry);
    }
    return entry;
  }

  /** Publishes a message; nothing tells the publisher whether anything received it. */
  publish(message: MemoryMessage): void {
    this.enqueue(this.accept(message), false);
  }

  /**
   * Publishes a request: like `publish`, but when nothing receives it the broker sends
   * `{ status: 'no-responders', correlationId }` to its `replyTo`.
   */
  request(message: MemoryMessage & { replyTo: string }): void {
    this.enqueue(this.accept(message), true);
  }

  /** Checks the size and copies the message, so that the sender's later changes do not travel. */
  private accept(message: MemoryMessage): MemoryMessage {
    if (message.body.length > this.maxPayload)
      throw new RpcPayloadTooLargeError(message.destination, message.body.length, this.maxPayload);
    return copy(message);
  }

  private enqueue(message: MemoryMessage, request: boolean): void {
    this.queued.push({ message, request });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    for (const item of batch) this.route(item);
  };

  private route({ message, request }: Queued): void {
    const targets = this.targets(message.destination);
    if (targets.length === 0) {
      if (request && message.replyTo !== undefined)
        this.enqueue(
          {
            destination: message.replyTo,
            body: EMPTY,
            headers: {},
            correlationId: message.correlationId,
            status: 'no-responders',
          },
          false,
        );
      return;
    }
    targets.forEach((target, i) => {
      try {
        target.handler(i === 0 ? message : copy(message));
      } catch (err) {
        this.logger.error(`A subscriber of "${target.subject}" failed: ${(err as Error)?.message ?? err}`);
      }
    });
  }

  /** Every matching subscription without a queue group, and one member of each matching group. */
  private targets(subject: string): Entry[] {
    const matched: Entry[] = [...(this.exact.get(subject) ?? [])];
    for (const entry of this.wildcards) if (subjectMatches(entry.subject, subject)) matched.push(entry);
    if (!matched.some((entry) => entry.queue !== undefined)) return matched;
    const out: Entry[] = [];
    const groups = new Map<string, Entry[]>();
    for (const entry of matched) {
      if (entry.queue === undefined) out.push(entry);
      else {
        const members = groups.get(entry.queue);
        if (members) members.push(entry);
        else groups.set(entry.queue, [entry]);
      }
    }
    for (const [queue, members] of groups) {
      const key = `${queue} ${subject}`;
      const turn = this.turns.get(key) ?? 0;
      this.turns.set(key, turn + 1);
      out.push(members[turn % members.length]!);
    }
    return out;
  }
}

function copy(message: MemoryMessage): MemoryMessage {
  return { ...message, body: Buffer.from(message.body), headers: { ...message.headers } };
}
