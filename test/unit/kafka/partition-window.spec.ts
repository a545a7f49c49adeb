import { describe, expect, it } from 'vitest';
import { PartitionWindow } from '../../../lib/kafka/partition-window.js';

describe('PartitionWindow', () => {
  it('commits only the contiguous prefix of finished offsets', () => {
    const w = new PartitionWindow('t', 0);
    for (const o of [5, 6, 7, 8]) w.take(o);
    expect(w.finish(7)).toBe(false);
    expect(w.finish(8)).toBe(false);
    expect(w.committable).toBeUndefined();
    expect(w.size).toBe(4);
    expect(w.finish(5)).toBe(true);
    expect(w.committable).toBe('6');
    expect(w.finish(6)).toBe(true);
    expect(w.committable).toBe('9');
    expect(w.size).toBe(0);
  });

  it('handles gaps in offsets (compaction, transaction markers)', () => {
    const w = new PartitionWindow('t', 0);
    for (const o of [10, 13, 20]) w.take(o);
    w.finish(13);
    w.finish(10);
    expect(w.committable).toBe('14');
    w.finish(20);
    expect(w.committable).toBe('21');
  });

  it('recognises redelivered offsets as taken', () => {
    const w = new PartitionWindow('t', 0);
    w.take(3);
    w.take(4);
    expect(w.isTaken(2)).toBe(true);
    expect(w.isTaken(4)).toBe(true);
    expect(w.isTaken(5)).toBe(false);
  });

  it('is dirty until the committable offset was committed, and again in a new generation', () => {
    const w = new PartitionWindow('t', 0);
    expect(w.dirty).toBe(false);
    w.take(0);
    w.finish(0);
    expect(w.dirty).toBe(true);
    w.markCommitted('1');
    expect(w.dirty).toBe(false);
    w.take(1);
    w.finish(1);
    expect(w.dirty).toBe(true);
    w.markCommitted('2');
    w.forgetCommitted();
    expect(w.dirty).toBe(true);
  });

  it('makes a start offset committable before anything is taken', () => {
    const w = new PartitionWindow('t', 0);
    w.startAt('40');
    expect(w.committable).toBe('40');
    expect(w.dirty).toBe(true);
    w.take(40);
    w.finish(40);
    expect(w.committable).toBe('41');
  });

  it('keeps its memory bounded over a long run', () => {
    const w = new PartitionWindow('t', 0);
    for (let o = 0; o < 100_000; o++) {
      w.take(o);
      w.finish(o);
    }
    expect(w.committable).toBe('100000');
    expect((w as any).taken.length).toBeLessThan(4_096);
  });
});
