import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { finalize, firstValueFrom, interval, lastValueFrom, Observable, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcRemoteError } from '../../../lib/core/errors.js';
import { ServerShuttingDown, ShutdownControl } from '../../../lib/core/shutdown.js';
import { FakeBroker, FakeClient, FakeServer } from './fake-transport.js';

describe('ShutdownControl', () => {
  it('cuts a running stream: the source is unsubscribed and the consumer sees ServerShuttingDown', async () => {
    const control = new ShutdownControl();
    let tornDown = false;
    const source = new Observable<number>((s) => {
      s.next(1);
      return () => (tornDown = true);
    });
    const consumed = control.track(source, (s$) => lastValueFrom(s$.pipe(toArray())));
    await expect(control.cutStreams(1_000)).resolves.toBe(1);
    await expect(consumed).rejects.toBeInstanceOf(ServerShuttingDown);
    expect(tornDown).toBe(true);
    await expect(control.cutStreams(1_000)).resolves.toBe(0); // finished streams are forgotten
  });

  it('leaves a stream that completes alone', async () => {
    const control = new ShutdownControl();
    const consumed = control.track(new Observable<number>((s) => (s.next(1), s.complete())), (s$) =>
      lastValueFrom(s$),
    );
    await expect(consumed).resolves.toBe(1);
    await expect(control.cutStreams(1_000)).resolves.toBe(0);
  });

  it('hands turned-away messages back only once intake has stopped, and tells when all were', async () => {
    const control = new ShutdownControl();
    const handedBack: number[] = [];
    const refusals = [1, 2].map((n) => control.refuse(() => void handedBack.push(n)));
    await new Promise((r) => setImmediate(r));
    expect(handedBack).toEqual([]);
    control.stoppedIntake();
    await control.refused();
    expect(handedBack).toEqual([1, 2]);
    await Promise.all(refusals);
  });
});

describe('close() and unfinished work (fake transport)', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('turns away requests queued behind maxConcurrency with a shutting-down error, and never runs them', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ran: number[] = [];
    const events: number[] = [];
    @Controller()
    class Slow {
      @MessagePattern('slow')
      async slow(@Payload() n: number) {
        ran.push(n);
        await held;
        return n;
      }
      @EventPattern('evt')
      evt(@Payload() n: number) {
        events.push(n);
      }
    }
    @Module({ controllers: [Slow] })
    class SlowModule {}
    const broker = new FakeBroker();
    const server = new FakeServer(broker, { maxConcurrency: 1 });
    const app = await NestFactory.createMicroservice(SlowModule, { strategy: server, logger: false });
    await app.listen();
    const client = new FakeClient(broker);
    const first = firstValueFrom(client.send('slow', 0));
    const queued = [1, 2, 3].map((n) => firstValueFrom(client.send('slow', n)).catch((e) => e));
    await lastValueFrom(client.emit('evt', 9), { defaultValue: undefined });
    await new Promise((r) => setImmediate(r));
    const closing = server.close();
    for (const err of await Promise.all(queued)) {
      expect(err).toBeInstanceOf(RpcRemoteError);
      expect(err.kind).toBe('shutting-down');
      expect(err.message).toContain('not handled');
    }
    release();
    await expect(first).resolves.toBe(0);
    await closing;
    expect(ran).toEqual([0]);
    expect(events).toEqual([]);
    expect(server.counters.refusedAtClose).toBe(4);
    await client.close();
  });

  it('stops a stream still running when closeTimeout ends; its caller gets a shutting-down error', async () => {
    let tornDown = false;
    @Controller()
    class Ticks {
      @MessagePattern('ticks')
      ticks() {
        return interval(5).pipe(finalize(() => (tornDown = true)));
      }
    }
    @Module({ controllers: [Ticks] })
    class TicksModule {}
    const broker = new FakeBroker();
    const server = new FakeServer(broker, { closeTimeout: 30 });
    const app = await NestFactory.createMicroservice(TicksModule, { strategy: server, logger: false });
    await app.listen();
    const client = new FakeClient(broker);
    const values: number[] = [];
    const ended = new Promise<unknown>((resolve) =>
      client.send<number>('ticks', 0).subscribe({ next: (v) => values.push(v), error: resolve }),
    );
    await expect.poll(() => values.length).toBeGreaterThan(2);
    await server.close();
    expect(tornDown).toBe(true);
    const err = (await ended) as RpcRemoteError;
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('shutting-down');
    expect(err.message).toContain('stream was stopped');
    await client.close();
  });
});
