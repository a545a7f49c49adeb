/**
 * Counters of what a client or server dropped, refused or could not deliver: one place per side,
 * read with `client.counters` / `server.counters`, so that metrics can export them.
 * Every name starts at 0; a counter only ever grows.
 */
export class RpcCounters<K extends string> {
  private readonly values: Record<string, number> = Object.create(null);

  constructor(names: readonly K[]) {
    for (const name of names) this.values[name] = 0;
  }

  increment(name: K, by = 1): void {
    this.values[name] = (this.values[name] ?? 0) + by;
  }

  get(name: K): number {
    return this.values[name] ?? 0;
  }

  /** A copy of every counter, by name. */
  snapshot(): Readonly<Record<K, number>> {
    return { ...this.values } as Record<K, number>;
  }
}

/** What a client counts. */
export const CLIENT_COUNTERS = [
  /** Replies whose correlation id matched no pending request (unknown, late or duplicate). */
  'repliesDropped',
] as const;
export type ClientCounter = (typeof CLIENT_COUNTERS)[number];

/** What a server counts. */
export const SERVER_COUNTERS = [
  /** Replies the broker refused or that could not be published. */
  'replyPublishFailures',
  /** Requests dropped unhandled because their reply address was refused (a reply loop, or not in `replyTo.allow`). */
  'replyAddressesRefused',
  /** Errors of reply-elsewhere handlers (`rpc-reply-mode: event`), logged and not published: the reply address takes results only. */
  'replyElsewhereErrors',
] as const;
export type ServerCounter = (typeof SERVER_COUNTERS)[number];
