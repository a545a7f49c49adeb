import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineCheck, deadlineOf, stampDeadline } from '../../../lib/core/deadline.js';
import { RpcTimeoutError } from '../../../lib/core/errors.js';
import { DEFAULT_DEADLINE_GRACE } from '../../../lib/core/options.js';
import { RpcRecordBuilder } from '../../../lib/core/record-builder.js';
import { type HeaderMap, Headers, type InboundMessage } from '../../../lib/core/wire.js';
import { FakeBroker, FakeClient, FakeServer } from './fake-transport.js';

const message = (headers: HeaderMap): InboundMessage => ({
  destination: 'd',
  pattern: 'd',
  body: new Uint8Array(0),
  headers,
});

describe('deadline header', () => {
  it('is the epoch time the caller stops waiting, and absent with timeout 0', () => {
    const headers: HeaderMap = {};
    stampDeadline(headers, 1_500, 1_000_000);
    expect(headers[Headers.deadline]).toBe('1001500');
    expect(deadlineOf(headers)).toBe(1_001_500);
    const none: HeaderMap = {};
    stampDeadline(none, 0, 1_000_000);
    expect(none).toEqual({});
  });

  it('reads a malformed deadline as none', () => {
    for (const value of ['', 'soon', '-5', '1e12', '12.5', ' 12'])
      expect(deadlineOf({ [Headers.deadline]: value })).toBeUndefined();
  });
});

describe('DeadlineCheck', () => {
  it('drops a message once its deadline plus the grace has passed, and counts each', () => {
    const lines: string[] = [];
    let counted = 0;
    const check = new DeadlineCheck(
      200,
      (l) => lines.push(l),
      () => counted++,
    );
    const m = message({ [Headers.deadline]: '10000' });
    expect(check.passed(m, 10_199)).toBe(false);
    expect(check.passed(m, 10_200)).toBe(true);
    expect(check.passed(m, 20_000)).toBe(true);
    expect(check.passed(message({}), 99_999_999)).toBe(false);
    expect(counted).toBe(2);
    expect(lines).toHaveLength(1); // throttled
    expect(lines[0]).toContain('deadline passed 200 ms ago');
  });

  it('defaults the grace and validates it', () => {
    expect(
      new DeadlineCheck(
        undefined,
        () => {},
        () => {},
      ).grace,
    ).toBe(DEFAULT_DEADLINE_GRACE);
    expect(
      () =>
        new DeadlineCheck(
          -1,
          () => {},
          () => {},
        ),
    ).toThrow(RangeError);
    expect(
      () =>
        new DeadlineCheck(
          '1' as any,
          () => {},
          () => {},
        ),
    ).toThrow(/deadlineGrace/);
  });
});

describe('deadlines between client and server (fake transport)', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('sends the deadline, and the server skips queued requests whose deadline passed', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ran: number[] = [];
    const seen: Array<string | undefined> = [];
    @Controller()
    class Slow {
      @MessagePattern('slow')
      async slow(@Payload() n: number) {
        ran.push(n);
        await held;
        return n;
      }
    }
    @Module({ controllers: [Slow] })
    class SlowModule {}
    const broker = new FakeBroker();
    const server = new FakeServer(broker, { maxConcurrency: 1, deadlineGrace: 0 });
    const app = await NestFactory.createMicroservice(SlowModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    const client = new FakeClient(broker, { timeout: 50 });
    await client.connect();
    const calls = Array.from({ length: 5 }, (_, n) => firstValueFrom(client.send('slow', n)).catch((e) => e));
    const forever = firstValueFrom(client.send('slow', new RpcRecordBuilder(9).setTimeout(0).build()));
    for (const err of await Promise.all(calls)) expect(err).toBeInstanceOf(RpcTimeoutError);
    for (const m of broker.published) if (m.destination === 'slow') seen.push(m.headers[Headers.deadline]);
    release();
    await expect(forever).resolves.toBe(9);
    expect(ran).toEqual([0, 9]);
    expect(server.counters.requestsExpired).toBe(4);
    expect(seen.slice(0, 5).every((d) => d !== undefined && /^\d+$/.test(d))).toBe(true);
    expect(seen[5]).toBeUndefined(); // timeout 0: no deadline
  });
});
