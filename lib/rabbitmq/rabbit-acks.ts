const UNFINISHED = 0;
const FINISHED = 1;
/** Settled some other way (nacked, acked by its handler, acked alone): nothing left to send for it. */
const GONE = 2;
type State = typeof UNFINISHED | typeof FINISHED | typeof GONE;

/** Sends `basic.ack` for `tag`, and with `multiple` for every outstanding tag below it on the channel. */
export type SendAck = (tag: number, multiple: boolean) => void;

/**
 * Batches the acks of one channel's deliveries into `basic.ack` with `multiple: true`: one frame for
 * the unbroken run of finished deliveries from the lowest tag up, instead of one per delivery (the
 * broker then settles them in one pass; a run of one is acked without `multiple`). Finished deliveries above one still unfinished are acked one
 * by one in the same flush, so a slow request never holds back the acks of the others (nor the
 * prefetch window they take). Never acks a delivery not finished: a `multiple` ack is sent only up to
 * a tag below the lowest unfinished one, and always names a tag the broker still holds unacked (one
 * that is neither settled elsewhere nor acked alone; RabbitMQ closes the channel on an unknown tag).
 *
 * Every delivery that needs an ack must be `delivered` here, in delivery order, before any later one
 * is finished: a `multiple` ack covers every outstanding tag below it, tracked or not. The tracker
 * flushes on the next `schedule` turn after a delivery finished (setImmediate: the deliveries handled
 * in one turn are acked together), or at once with `flush`.
 */
export class AckBatcher {
  /** Tracked tags in delivery order (ascending), from `head` on. */
  private tags: number[] = [];
  private head = 0;
  private readonly states = new Map<number, State>();
  /** Tags finished since the last flush; those above the lowest unfinished tag are acked alone. */
  private finishedSince: number[] = [];
  private scheduled = false;
  private lastTag = 0;

  constructor(
    private readonly send: SendAck,
    private readonly schedule: (flush: () => void) => void = (flush) => void setImmediate(flush),
  ) {}

  /** Deliveries tracked and not yet acked or settled. */
  get outstanding(): number {
    return this.states.size;
  }

  /** A delivery that will need an ack arrived. Tags increase with every delivery on a channel. */
  delivered(tag: number): void {
    if (tag <= this.lastTag)
      throw new RangeError(`delivery tag ${tag} is not above the last one (${this.lastTag})`);
    this.lastTag = tag;
    this.tags.push(tag);
    this.states.set(tag, UNFINISHED);
  }

  /** The delivery is done with and should be acked (soon, possibly together with others). */
  finished(tag: number): void {
    if (this.states.get(tag) !== UNFINISHED) return;
    this.states.set(tag, FINISHED);
    this.finishedSince.push(tag);
    this.later();
  }

  /** The delivery was settled without this tracker (nacked, or acked by its handler): never ack it. */
  settledElsewhere(tag: number): void {
    if (!this.states.has(tag)) return;
    this.states.set(tag, GONE);
    this.later(); // the run of finished deliveries below may now extend past it
  }

  /** Sends the acks that can be sent now. */
  flush(): void {
    this.scheduled = false;
    let upTo: number | undefined;
    let run = 0;
    while (this.head < this.tags.length) {
      const tag = this.tags[this.head]!;
      const state = this.states.get(tag);
      if (state === UNFINISHED) break;
      if (state === FINISHED) {
        upTo = tag;
        run++;
      }
      this.states.delete(tag);
      this.head++;
    }
    if (this.head === this.tags.length) {
      this.tags = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tags.length) {
      this.tags = this.tags.slice(this.head);
      this.head = 0;
    }
    const above = this.finishedSince;
    this.finishedSince = [];
    if (upTo !== undefined) this.send(upTo, run > 1);
    for (const tag of above) {
      if (this.states.get(tag) !== FINISHED) continue; // acked by the run above, or settled elsewhere
      this.states.set(tag, GONE);
      this.send(tag, false);
    }
  }

  private later(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      if (this.scheduled) this.flush();
    });
  }
}
