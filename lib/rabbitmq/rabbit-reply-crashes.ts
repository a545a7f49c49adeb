import { DIRECT_REPLY_TO } from './rabbit-rpc.options.js';

/** AMQP reply code of a connection the broker closed after an internal crash. */
export const INTERNAL_ERROR_CODE = 541;
/** Direct replies remembered per connection: those that may have been the one that crashed it. */
export const RECENT_REPLIES = 256;
/** Requests remembered with their crash count; the oldest are forgotten first. */
const MAX_REMEMBERED = 1024;
/** A redelivered request answered this many times, each time followed by a crash, is not answered again. */
export const CRASHES_BEFORE_DROP = 2;

const PREFIX = `${DIRECT_REPLY_TO}.`;

/**
 * RabbitMQ 3.10 crashes the channel, and closes the connection with 541 INTERNAL_ERROR, that publishes
 * to a direct reply-to address whose caller's node is down (rabbit_channel:deliver_reply, case_clause).
 * The request stays unacked, is redelivered on the next connection, is answered again and crashes it
 * again, for ever, and every request queued behind it on its queue waits for ever too. This tells
 * which requests were answered just before such crashes, so that one answered before every one of
 * the last `CRASHES_BEFORE_DROP` crashes is dropped on its next redelivery instead.
 */
export class DirectReplyCrashes {
  private readonly crashes = new Map<string, number>();
  private recent = new RecentReplies();

  /** A new connection: replies from now on are its own; the callback tells it was closed with 541. */
  connection(): () => void {
    const recent = (this.recent = new RecentReplies());
    return () => {
      for (const key of recent.drain()) {
        const count = (this.crashes.get(key) ?? 0) + 1;
        this.crashes.delete(key); // re-inserted last: the Map's order is the forgetting order
        this.crashes.set(key, count);
        if (this.crashes.size > MAX_REMEMBERED) this.crashes.delete(this.crashes.keys().next().value!);
      }
    };
  }

  /** A reply to `replyTo` for the request `correlationId` was published on the current connection. */
  published(replyTo: string, correlationId: string | undefined): void {
    if (correlationId === undefined || !replyTo.startsWith(PREFIX)) return;
    this.recent.add(replyTo, correlationId);
  }

  /** Whether answering this redelivered request crashed the connection each of the last times; forgets it if so. */
  takePoison(replyTo: string | undefined, correlationId: string | undefined): boolean {
    if (replyTo === undefined || correlationId === undefined) return false;
    const key = keyOf(replyTo, correlationId);
    if ((this.crashes.get(key) ?? 0) < CRASHES_BEFORE_DROP) return false;
    this.crashes.delete(key);
    return true;
  }
}

const keyOf = (replyTo: string, correlationId: string) => `${replyTo}\u0000${correlationId}`;

/**
 * The last `RECENT_REPLIES` direct replies of one connection, in a ring: recording one is two array
 * writes on every reply's path (no key built, nothing hashed); keys are made only after a crash.
 */
class RecentReplies {
  private readonly replyTo: string[] = [];
  private readonly correlationId: string[] = [];
  private next = 0;

  add(replyTo: string, correlationId: string): void {
    this.replyTo[this.next] = replyTo;
    this.correlationId[this.next] = correlationId;
    this.next = (this.next + 1) % RECENT_REPLIES;
  }

  /** The distinct replies recorded, and empties the ring. */
  drain(): Set<string> {
    const keys = new Set<string>();
    for (let i = 0; i < this.replyTo.length; i++) keys.add(keyOf(this.replyTo[i]!, this.correlationId[i]!));
    this.replyTo.length = 0;
    this.correlationId.length = 0;
    this.next = 0;
    return keys;
  }
}
