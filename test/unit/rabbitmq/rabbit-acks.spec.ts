import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../../../lib/rabbitmq/rabbit-acks.js';

/** A tracker whose flushes run when the test says, and the acks it sent as `tag` or `tag+` (multiple). */
function tracker() {
  const sent: string[] = [];
  let pending: (() => void) | undefined;
  const acks = new AckBatcher(
    (tag, multiple) => sent.push(multiple ? `${tag}+` : `${tag}`),
    (flush) => {
      pending = flush;
    },
  );
  const turn = () => {
    const flush = pending;
    pending = undefined;
    flush?.();
  };
  return { acks, sent, turn, scheduled: () => pending !== undefined };
}

describe('AckBatcher', () => {
  it('acks a run of finished deliveries with one multiple ack, on the next turn', () => {
    const { acks, sent, turn } = tracker();
    for (const tag of [1, 2, 3, 4]) acks.delivered(tag);
    for (const tag of [2, 1, 3, 4]) acks.finished(tag);
    expect(sent).toEqual([]);
    turn();
    expect(sent).toEqual(['4+']);
    expect(acks.outstanding).toBe(0);
  });

  it('never acks past an unfinished delivery: those above it are acked one by one', () => {
    const { acks, sent, turn } = tracker();
    for (const tag of [1, 2, 3, 4, 5]) acks.delivered(tag);
    for (const tag of [1, 2, 4, 5]) acks.finished(tag);
    turn();
    expect(sent).toEqual(['2+', '4', '5']);
    expect(acks.outstanding).toBe(3); // 3 unfinished; 4 and 5 acked alone, still ahead of it
    acks.finished(3);
    turn();
    // 4 and 5 are acked already: a multiple ack naming them would name a tag the broker no longer holds
    expect(sent).toEqual(['2+', '4', '5', '3']);
    expect(acks.outstanding).toBe(0);
  });

  it('sends nothing while the lowest delivery is unfinished and nothing else finished', () => {
    const { acks, sent, turn, scheduled } = tracker();
    acks.delivered(1);
    acks.delivered(2);
    expect(scheduled()).toBe(false);
    acks.finished(2);
    turn();
    expect(sent).toEqual(['2']);
  });

  it('steps over deliveries settled elsewhere, and never names one in a multiple ack', () => {
    const { acks, sent, turn } = tracker();
    for (const tag of [1, 2, 3]) acks.delivered(tag);
    acks.finished(1);
    acks.settledElsewhere(2); // nacked, or acked by its handler
    acks.settledElsewhere(3);
    turn();
    expect(sent).toEqual(['1']);
    expect(acks.outstanding).toBe(0);
  });

  it('a delivery settled elsewhere below finished ones lets the run go on past it', () => {
    const { acks, sent, turn } = tracker();
    for (const tag of [1, 2, 3]) acks.delivered(tag);
    acks.finished(3);
    turn();
    expect(sent).toEqual(['3']);
    acks.settledElsewhere(1);
    acks.finished(2);
    turn();
    expect(sent).toEqual(['3', '2']);
    expect(acks.outstanding).toBe(0);
  });

  it('ignores finishing twice, or finishing what it does not track', () => {
    const { acks, sent, turn } = tracker();
    acks.delivered(7);
    acks.finished(7);
    acks.finished(7);
    acks.finished(8);
    acks.settledElsewhere(9);
    turn();
    expect(sent).toEqual(['7']);
    acks.finished(7);
    turn();
    expect(sent).toEqual(['7']);
  });

  it('does not ack a delivery settled elsewhere after it finished', () => {
    const { acks, sent, turn } = tracker();
    acks.delivered(1);
    acks.delivered(2);
    acks.finished(2);
    acks.settledElsewhere(2);
    turn();
    expect(sent).toEqual([]);
  });

  it('flush sends at once, and the scheduled turn after it sends nothing more', () => {
    const { acks, sent, turn } = tracker();
    acks.delivered(1);
    acks.finished(1);
    acks.flush();
    expect(sent).toEqual(['1']);
    turn();
    expect(sent).toEqual(['1']);
  });

  it('refuses tags that do not increase (they would break the run below the lowest unfinished)', () => {
    const { acks } = tracker();
    acks.delivered(5);
    expect(() => acks.delivered(5)).toThrow(RangeError);
    expect(() => acks.delivered(3)).toThrow(RangeError);
  });

  it('tags need not be contiguous (no-ack deliveries on the same channel take tags too)', () => {
    const { acks, sent, turn } = tracker();
    for (const tag of [2, 5, 9]) acks.delivered(tag);
    for (const tag of [2, 5, 9]) acks.finished(tag);
    turn();
    expect(sent).toEqual(['9+']);
  });

  it('over a long run, every finished delivery is acked exactly once and none unfinished is', () => {
    const { acks, sent, turn } = tracker();
    const finished = new Set<number>();
    const acked = new Set<number>();
    let next = 1;
    const open: number[] = [];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 5000; step++) {
      if (open.length < 50 && random() < 0.6) {
        acks.delivered(next);
        open.push(next++);
      } else if (open.length) {
        const [tag] = open.splice(Math.floor(random() * open.length), 1);
        finished.add(tag!);
        acks.finished(tag!);
      }
      if (random() < 0.2) {
        const before = sent.length;
        turn();
        for (const ack of sent.slice(before)) {
          const tag = Number.parseInt(ack, 10);
          const covered = ack.endsWith('+')
            ? [...finished, ...open].filter((t) => t <= tag && !acked.has(t))
            : [tag];
          expect(acked.has(tag)).toBe(false); // the broker still holds the tag it names
          for (const t of covered) {
            expect(finished.has(t)).toBe(true);
            acked.add(t);
          }
        }
      }
    }
    for (const tag of open) {
      finished.add(tag);
      acks.finished(tag);
    }
    turn();
    for (const ack of sent) {
      const tag = Number.parseInt(ack, 10);
      if (!ack.endsWith('+')) acked.add(tag);
      else for (const t of finished) if (t <= tag) acked.add(t);
    }
    expect(acked.size).toBe(next - 1);
    expect(acks.outstanding).toBe(0);
  });
});
