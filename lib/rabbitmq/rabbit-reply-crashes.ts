import { DIRECT_REPLY_TO } from './rabbit-rpc.options.js';

/** AMQP reply code of a connection the broker closed after an internal crash. */
export const INTERNAL_ERROR_CODE = 541;
/** Direct replies remembered per connection: those that may have been the one that crashed it. */
const RECENT_REPLIES = 256;
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
  private recent = new Set<string>();

  /** A new connection: replies from now on are its own; the callback tells it was closed with 541. */
  connection(): () => void {
    const recent = (this.recent = new Set());
    return () => {
      for (const key of recent) {
        const count = (this.crashes.get(key) ?? 0) + 1;
        this.crashes.delete(key); // re-inserted last: the Map's order is the forgetting order
        this.crashes.set(key, count);
        if (this.crashes.size > MAX_REMEMBERED) this.crashes.delete(this.crashes.keys().next().value!);
      }
      recent.clear();
    };
  }

  /** A reply to `replyTo` for the request `correlationId` was published on the current connection. */
  published(replyTo: string, correlationId: string | undefined): void {
    if (correlationId === undefined || !replyTo.startsWith(PREFIX)) return;
    const key = `${replyTo}\u0000${correlationId}`;
    this.recent.delete(key);
    this.recent.add(key);
    if (this.recent.size > RECENT_REPLIES) this.recent.delete(this.recent.keys().next().value!);
  }

  /** Whether answering this redelivered request crashed the connection each of the last times; forgets it if so. */
  takePoison(replyTo: string | undefined, correlationId: string | undefined): boolean {
    if (replyTo === undefined || correlationId === undefined) return false;
    const key = `${replyTo}\u0000${correlationId}`;
    if ((this.crashes.get(key) ?? 0) < CRASHES_BEFORE_DROP) return false;
    this.crashes.delete(key);
    return true;
  }
}
