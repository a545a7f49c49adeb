import { describe, expect, it } from 'vitest';
import { ReplyStamp, StreamBinding } from '../../../lib/core/stream-binding.js';
import { type HeaderMap, Headers } from '../../../lib/core/wire.js';

const next = (): HeaderMap => ({ [Headers.stream]: 'next' });
const frame = (responder: string, attempt: string, seq: number, marker?: 'next' | 'end'): HeaderMap => ({
  [Headers.responder]: responder,
  [Headers.attempt]: attempt,
  [Headers.seq]: String(seq),
  ...(marker ? { [Headers.stream]: marker } : {}),
});

describe('ReplyStamp', () => {
  it('leaves a request’s only reply without ids (first reply wins, no header cost)', () => {
    const single: HeaderMap = {};
    const error: HeaderMap = { [Headers.error]: 'internal' };
    new ReplyStamp('r').stamp(single);
    new ReplyStamp('r').stamp(error);
    expect(single).toEqual({});
    expect(error).toEqual({ [Headers.error]: 'internal' });
  });

  it('numbers every frame of a stream from 0 under one attempt id, and names the cancel address on next frames', () => {
    const stamp = new ReplyStamp('r', 'cancel.here');
    const frames = [next(), next(), { [Headers.stream]: 'end' }];
    for (const f of frames) stamp.stamp(f);
    expect(frames.map((f) => f[Headers.seq])).toEqual(['0', '1', '2']);
    expect(new Set(frames.map((f) => f[Headers.attempt])).size).toBe(1);
    expect(frames.map((f) => f[Headers.responder])).toEqual(['r', 'r', 'r']);
    expect(frames.map((f) => f[Headers.cancelTo])).toEqual(['cancel.here', 'cancel.here', undefined]);
    expect(new ReplyStamp('r').attempt).not.toBe(stamp.attempt);
  });

  it('draws the attempt id only when a stream’s first frame is stamped, and announces it once', () => {
    const heard: string[] = [];
    const single = new ReplyStamp('r', undefined, (a) => heard.push(a));
    single.stamp({});
    expect(single.started).toBe(false);
    const stream = new ReplyStamp('r', undefined, (a) => heard.push(a));
    const frames = [next(), next()];
    for (const f of frames) stream.stamp(f);
    expect(stream.started).toBe(true);
    expect(heard).toEqual([frames[0]![Headers.attempt]]);
    expect(stream.attempt).toBe(heard[0]);
  });

  it('gives the number of a frame refused before it left to the frame sent instead', () => {
    const stamp = new ReplyStamp('r');
    const first = next();
    const refused = next();
    const instead: HeaderMap = { [Headers.error]: 'too-large' };
    stamp.stamp(first);
    stamp.stamp(refused);
    stamp.retract();
    stamp.stamp(instead);
    expect(instead[Headers.seq]).toBe('1');
  });
});

describe('StreamBinding', () => {
  it('binds to the first responder and drops the frames of every other one', () => {
    const b = new StreamBinding(false);
    expect(b.admit(frame('A', 'a1', 0, 'next')).action).toBe('deliver');
    expect(b.admit(frame('B', 'b1', 0, 'next'))).toEqual({ action: 'drop', why: 'other' });
    expect(b.admit(frame('A', 'a1', 1, 'next')).action).toBe('deliver');
    expect(b.admit(frame('B', 'b1', 1, 'end'))).toEqual({ action: 'drop', why: 'other' });
    expect(b.admit(frame('A', 'a1', 2, 'end')).action).toBe('deliver');
  });

  it('fails a started stream on a frame of a newer attempt of the same responder', () => {
    const b = new StreamBinding(false);
    b.admit(frame('A', 'a1', 0, 'next'));
    b.admit(frame('A', 'a1', 1, 'next'));
    expect(b.admit(frame('A', 'a2', 0, 'next'))).toEqual({ action: 'fail', why: 'restarted' });
  });

  it('with restart opted in, follows the newer attempt from its first frame and drops the old one', () => {
    const b = new StreamBinding(true);
    b.admit(frame('A', 'a1', 0, 'next'));
    expect(b.admit(frame('A', 'a2', 0, 'next'))).toEqual({ action: 'restart' });
    expect(b.admit(frame('A', 'a1', 1, 'next'))).toEqual({ action: 'drop', why: 'other' });
    expect(b.admit(frame('A', 'a2', 1, 'end')).action).toBe('deliver');
  });

  it('drops a repeated frame and fails on a missing or reordered one', () => {
    const b = new StreamBinding(false);
    b.admit(frame('A', 'a1', 0, 'next'));
    expect(b.admit(frame('A', 'a1', 0, 'next'))).toEqual({ action: 'drop', why: 'duplicate' });
    expect(b.admit(frame('A', 'a1', 2, 'next'))).toEqual({
      action: 'fail',
      why: 'gap',
      expected: 1,
      received: 2,
    });
    expect(new StreamBinding(false).admit(frame('A', 'a1', 3, 'next'))).toEqual({
      action: 'fail',
      why: 'gap',
      expected: 0,
      received: 3,
    });
  });

  it('delivers everything from a peer that sends no ids, as before ids existed', () => {
    const b = new StreamBinding(false);
    expect(b.admit(next()).action).toBe('deliver');
    expect(b.admit(next()).action).toBe('deliver');
    expect(b.admit(frame('A', 'a1', 0, 'next'))).toEqual({ action: 'drop', why: 'other' });
    expect(b.admit({ [Headers.stream]: 'end' }).action).toBe('deliver');
  });

  it('drops frames without ids once bound to a responder that sends them', () => {
    const b = new StreamBinding(false);
    b.admit(frame('A', 'a1', 0, 'next'));
    expect(b.admit({})).toEqual({ action: 'drop', why: 'other' });
  });

  it('lists the attempts to cancel: other responders at once, the bound one once the caller left', () => {
    const b = new StreamBinding(false);
    b.admit({ ...frame('A', 'a1', 0, 'next'), [Headers.cancelTo]: 'to.A' });
    b.admit({ ...frame('B', 'b1', 0, 'next'), [Headers.cancelTo]: 'to.B' });
    expect(b.takeCancels(false)).toEqual(new Map([['b1', 'to.B']]));
    b.admit({ ...frame('B', 'b1', 1, 'next'), [Headers.cancelTo]: 'to.B' });
    expect(b.takeCancels(false)).toBeUndefined();
    expect(b.takeCancels(true)).toEqual(new Map([['a1', 'to.A']]));
    const ended = new StreamBinding(false);
    ended.admit({ ...frame('A', 'a1', 0, 'next'), [Headers.cancelTo]: 'to.A' });
    ended.admit(frame('A', 'a1', 1, 'end'));
    expect(ended.takeCancels(true)).toBeUndefined();
  });
});
