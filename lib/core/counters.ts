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
  /** Stream frames from a responder or attempt other than the one the stream is bound to. */
  'streamFramesDropped',
  /** Stream frames whose sequence number was delivered already (a duplicate from the broker). */
  'streamFramesDuplicate',
  /** Streams that restarted from the beginning on a redelivery (`restartStreams`). */
  'streamsRestarted',
  /** Cancel messages sent to a server for streams the caller left (unsubscribed, timed out, failed). */
  'streamCancelsSent',
  /** Requests that timed out or were unsubscribed while waiting for a blocked connection (RabbitMQ); never published. */
  'requestsDroppedUnsent',
  /** Times the connection was lost and the broker client began reconnecting (status `reconnecting`). */
  'reconnects',
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
  /** Streams stopped by their caller's cancel message. */
  'streamsCancelled',
  /** Streams stopped because they ran longer than `maxStreamDuration`. */
  'streamsExpired',
  /** Requests refused at once with an `overloaded` error, or events dropped, because `maxQueued` already waited (NATS, RabbitMQ `noAck`). */
  'requestsRefused',
  /** Times a Kafka partition was paused because the server held `maxConcurrency + maxQueued` requests. */
  'partitionsPausedFull',
  /** Event handlers (and handlers of messages without a reply address) that threw or errored. */
  'eventsFailed',
  /** Failed events handed back for another attempt (RabbitMQ quorum queue requeue, Kafka re-produce). */
  'eventsRetried',
  /** Failed events sent to a dead-letter exchange (RabbitMQ) or topic (Kafka); the others were dropped. */
  'eventsDeadLettered',
  /** Requests dropped unhandled because their deadline (plus `deadlineGrace`) had passed. */
  'requestsExpired',
  /** Messages turned away unhandled because the server was closing (requeued, left uncommitted, or answered `shutting-down`). */
  'refusedAtClose',
  /** Replies dropped before publishing because their reply address cannot exist (Kafka: no such topic or partition). */
  'repliesUndeliverable',
  /** Messages delivered again by the broker (NATS JetStream: not acked within `ackWait`, or nak'ed). */
  'messagesRedelivered',
  /** Requests and events dead-lettered (NATS JetStream: past `maxDeliver`, failed on the last delivery, or unhandleable). */
  'requestsDeadLettered',
  /** Times the connection was lost and the broker client began reconnecting (status `reconnecting`). */
  'reconnects',
] as const;
export type ServerCounter = (typeof SERVER_COUNTERS)[number];
