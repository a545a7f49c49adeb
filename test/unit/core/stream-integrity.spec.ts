import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { finalize, interval, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcRemoteError, RpcStreamGapError, RpcStreamRestartedError } from '../../../lib/core/errors.js';
import { RpcRecordBuilder } from '../../../lib/core/record-builder.js';
import { encode } from '../../../lib/core/codec.js';
import { type HeaderMap, Headers, type OutboundMessage } from '../../../lib/core/wire.js';
import { FakeBroker, FakeClient, FakeServer } from './fake-transport.js';

/** A peer that answers `frames.x` with the frames a test scripts: [value, headers] pairs. */
function scriptedPeer(broker: FakeBroker, script: Array<[unknown, HeaderMap]>) {
  broker.routes.set('frames.x', (request: OutboundMessage) => {
    for (const [value, headers] of script) {
      const { body, contentType } = encode(value);
      broker.deliver({
        destination: 'inbox',
        body,
        contentType,
        headers,
        correlationId: request.correlationId,
      });
    }
  });
}
const f = (responder: string, attempt: string, seq: number, marker?: 'next' | 'end'): HeaderMap => ({
  [Headers.responder]: responder,
  [Headers.attempt]: attempt,
  [Headers.seq]: String(seq),
  ...(marker ? { [Headers.stream]: marker } : {}),
});

describe('stream integrity in the client', () => {
  it('keeps the first responder of two answering the same request: every value once, in order', async () => {
    const broker = new FakeBroker();
    const script: Array<[unknown, HeaderMap]> = [];
    for (let i = 0; i < 5; i++) script.push([i, f('A', 'a', i, 'next')], [i, f('B', 'b', i, 'next')]);
    script.push([undefined, f('A', 'a', 5, 'end')], [undefined, f('B', 'b', 5, 'end')]);
    scriptedPeer(broker, script);
    const client = new FakeClient(broker);
    expect(await lastValueFrom(client.send('frames.x', null).pipe(toArray()))).toEqual([0, 1, 2, 3, 4]);
    expect(client.counters.streamFramesDropped).toBe(5); // B's frames until the stream settled
  });

  it('fails a started stream with RpcStreamRestartedError when a redelivery starts it over', async () => {
    const broker = new FakeBroker();
    scriptedPeer(broker, [
      [0, f('A', 'a1', 0, 'next')],
      [1, f('A', 'a1', 1, 'next')],
      [0, f('A', 'a2', 0, 'next')],
      [1, f('A', 'a2', 1, 'next')],
      [undefined, f('A', 'a2', 2, 'end')],
    ]);
    const seen: unknown[] = [];
    const client = new FakeClient(broker);
    const error = await new Promise((resolve) =>
      client.send('frames.x', null).subscribe({ next: (v) => seen.push(v), error: resolve }),
    );
    expect(error).toBeInstanceOf(RpcStreamRestartedError);
    expect((error as RpcStreamRestartedError).code).toBe('RPC_STREAM_RESTARTED');
    expect(seen).toEqual([0, 1]);
  });

  it('restarts from the new attempt’s first value when the call opted in', async () => {
    const broker = new FakeBroker();
    scriptedPeer(broker, [
      [0, f('A', 'a1', 0, 'next')],
      [1, f('A', 'a1', 1, 'next')],
      [0, f('A', 'a2', 0, 'next')],
      [2, f('A', 'a1', 2, 'next')],
      [1, f('A', 'a2', 1, 'next')],
      [undefined, f('A', 'a2', 2, 'end')],
    ]);
    const client = new FakeClient(broker);
    const record = new RpcRecordBuilder(null).restartStream().build();
    expect(await lastValueFrom(client.send('frames.x', record).pipe(toArray()))).toEqual([0, 1, 0, 1]);
    expect(client.counters.streamsRestarted).toBe(1);
    expect(client.counters.streamFramesDropped).toBe(1);
  });

  it('restarts with the client option restartStreams too', async () => {
    const broker = new FakeBroker();
    scriptedPeer(broker, [
      [0, f('A', 'a1', 0, 'next')],
      [7, f('A', 'a2', 0)],
    ]);
    const client = new FakeClient(broker, { restartStreams: true });
    expect(await lastValueFrom(client.send('frames.x', null).pipe(toArray()))).toEqual([0, 7]);
  });

  it('drops a duplicated frame and fails on a lost one with RpcStreamGapError', async () => {
    const broker = new FakeBroker();
    scriptedPeer(broker, [
      [0, f('A', 'a', 0, 'next')],
      [0, f('A', 'a', 0, 'next')],
      [1, f('A', 'a', 1, 'next')],
      [3, f('A', 'a', 3, 'next')],
    ]);
    const seen: unknown[] = [];
    const client = new FakeClient(broker);
    const error = await new Promise((resolve) =>
      client.send('frames.x', null).subscribe({ next: (v) => seen.push(v), error: resolve }),
    );
    expect(seen).toEqual([0, 1]);
    expect(error).toBeInstanceOf(RpcStreamGapError);
    expect(error).toMatchObject({ code: 'RPC_STREAM_GAP', expected: 2, received: 3 });
    expect(client.counters.streamFramesDuplicate).toBe(1);
  });

  it('keeps today’s behaviour with a peer that sends no ids, and first-reply-wins for single replies', async () => {
    const broker = new FakeBroker();
    scriptedPeer(broker, [
      [1, { [Headers.stream]: 'next' }],
      [1, { [Headers.stream]: 'next' }],
      [undefined, { [Headers.stream]: 'end' }],
    ]);
    const client = new FakeClient(broker);
    expect(await lastValueFrom(client.send('frames.x', null).pipe(toArray()))).toEqual([1, 1]);
    scriptedPeer(broker, [
      ['first', {}],
      ['second', {}],
    ]);
    expect(await lastValueFrom(client.send('frames.x', null).pipe(toArray()))).toEqual(['first']);
    expect(client.counters.repliesDropped).toBe(1);
  });
});

let torndown = 0;
@Controller()
class Streams {
  @MessagePattern('tick')
  tick() {
    return interval(2).pipe(finalize(() => torndown++));
  }
  @MessagePattern('count')
  count(@Payload() n: number) {
    return interval(1).pipe(take(n));
  }
}
@Module({ controllers: [Streams] })
class StreamsModule {}

describe('stream frames and stopping streams, client and server over a fake transport', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  async function start(broker: FakeBroker, options = {}, takesCancels = true) {
    const server = new FakeServer(broker, options);
    server.takesCancels = takesCancels;
    const app = await NestFactory.createMicroservice(StreamsModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return server;
  }

  it('stamps stream frames with responder, attempt and sequence, and not a single reply', async () => {
    const broker = new FakeBroker();
    await start(broker);
    const client = new FakeClient(broker);
    expect(await lastValueFrom(client.send('count', 3).pipe(toArray()))).toEqual([0, 1, 2]);
    const frames = broker.published.filter((m) => m.destination === 'inbox');
    expect(frames.map((m) => m.headers[Headers.seq])).toEqual(['0', '1', '2']); // the last value goes out final
    expect(new Set(frames.map((m) => m.headers[Headers.attempt])).size).toBe(1);
    expect(frames.every((m) => m.headers[Headers.responder])).toBe(true);
  });

  it('stops a stream whose caller unsubscribed, by a cancel message', async () => {
    const broker = new FakeBroker();
    const server = await start(broker);
    const client = new FakeClient(broker);
    torndown = 0;
    await new Promise<void>((resolve) => {
      const sub = client.send('tick', null).subscribe((v) => {
        if (v === 2) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await expect.poll(() => torndown).toBe(1);
    expect(server.counters.streamsCancelled).toBe(1);
    expect(client.counters.streamCancelsSent).toBe(1);
    await expect.poll(() => server.streamCount).toBe(0);
  });

  it('stops a stream whose caller timed out', async () => {
    const broker = new FakeBroker();
    const server = await start(broker);
    const client = new FakeClient(broker, { timeout: 50 });
    torndown = 0;
    // the caller stops reading (a slow consumer it gave up on): its per-message timeout fires
    const error = await new Promise((resolve) =>
      client.send('tick', null).subscribe({ next: () => broker.inboxes.delete('inbox'), error: resolve }),
    );
    expect(error).toMatchObject({ code: 'RPC_TIMEOUT' });
    await expect.poll(() => torndown).toBe(1);
    expect(server.counters.streamsCancelled).toBe(1);
  });

  it('bounds a stream that takes no cancel by maxStreamDuration, telling the caller', async () => {
    const broker = new FakeBroker();
    const server = await start(broker, { maxStreamDuration: 30 }, false);
    const client = new FakeClient(broker);
    torndown = 0;
    const error = await lastValueFrom(client.send('tick', null)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcRemoteError);
    expect((error as RpcRemoteError).kind).toBe('stream-limit');
    expect(torndown).toBe(1);
    expect(server.counters.streamsExpired).toBe(1);
    await expect.poll(() => server.streamCount).toBe(0);
  });

  it('refuses a maxStreamDuration that is not a number of milliseconds', () => {
    expect(() => new FakeServer(new FakeBroker(), { maxStreamDuration: -1 })).toThrow(RangeError);
  });
});
