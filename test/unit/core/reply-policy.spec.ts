import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encode } from '../../../lib/core/codec.js';
import { RpcDecodeError, RpcError, RpcRemoteError } from '../../../lib/core/errors.js';
import { RpcRecordBuilder } from '../../../lib/core/record-builder.js';
import { ReplyPolicy } from '../../../lib/core/reply-policy.js';
import type { RpcServerOptions } from '../../../lib/core/options.js';
import { Headers, type InboundMessage, userHeaders } from '../../../lib/core/wire.js';
import { FakeBroker, FakeClient, FakeServer } from './fake-transport.js';

const ran: string[] = [];
const results: unknown[] = [];

@Controller()
class PolicyController {
  @MessagePattern('work')
  work(@Payload() data: unknown) {
    ran.push('work');
    return data;
  }
  @MessagePattern('other')
  other(@Payload() data: unknown) {
    ran.push('other');
    return data;
  }
  @MessagePattern('fail')
  fail(): never {
    ran.push('fail');
    throw new RpcException({ code: 'E_FAIL', message: 'failed on purpose' });
  }
  @EventPattern('result')
  result(@Payload() data: unknown) {
    results.push(data);
  }
}

@Module({ controllers: [PolicyController] })
class PolicyModule {}

async function start(broker: FakeBroker, options: RpcServerOptions = {}) {
  const app = await NestFactory.createMicroservice(PolicyModule, {
    strategy: new FakeServer(broker, options),
    logger: false,
  });
  await app.listen();
  const server = (app as unknown as { serverInstance: FakeServer }).serverInstance;
  return { app, server };
}

/** A raw request, as a peer that names any reply address would publish it. */
function rawRequest(broker: FakeBroker, destination: string, replyTo: string, headers = {}) {
  const { body, contentType } = encode(1);
  broker.deliver({ destination, body, contentType, headers, correlationId: 'c1', replyTo });
}

const message = (replyTo: string, headers = {}): InboundMessage => ({
  destination: 'work',
  pattern: 'work',
  body: new Uint8Array(0),
  headers,
  replyTo,
});

describe('ReplyPolicy', () => {
  const never = () => false;

  it('refuses a reply loop whatever the allow-list says, and counts and logs it', () => {
    const warn = vi.fn();
    const refused = vi.fn();
    const policy = new ReplyPolicy({ allow: ['*'] }, warn, refused);
    expect(policy.admits(message('work'), (a) => a === 'work')).toBe(false);
    expect(refused).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/reply loop/);
  });

  it('admits every other address without an allow-list', () => {
    const policy = new ReplyPolicy(undefined, vi.fn(), vi.fn());
    expect(policy.admits(message('anywhere.at.all'), never)).toBe(true);
  });

  it('matches exact names, globs and RegExps; a glob star spans dots', () => {
    const policy = new ReplyPolicy(
      { allow: ['gateway.replies', '_INBOX.*', /^amq\.gen-/g] },
      vi.fn(),
      vi.fn(),
    );
    const admits = (a: string) => policy.admits(message(a), never);
    expect(admits('gateway.replies')).toBe(true);
    expect(admits('gateway.replies2')).toBe(false);
    expect(admits('_INBOX.abc.def.42')).toBe(true);
    expect(admits('x_INBOX.abc')).toBe(false);
    expect(admits('amq.gen-1')).toBe(true);
    expect(admits('amq.gen-1')).toBe(true); // a global RegExp keeps no lastIndex between calls
    expect(admits('other.service')).toBe(false);
  });

  it('asks a predicate with the mode, pattern and destination, and refuses when it throws', () => {
    const allow = vi.fn((address: string) => {
      if (address === 'boom') throw new Error('predicate bug');
      return address.startsWith('ok.');
    });
    const warn = vi.fn();
    const policy = new ReplyPolicy({ allow }, warn, vi.fn());
    expect(policy.admits(message('ok.1', { [Headers.replyMode]: 'event' }), never)).toBe(true);
    expect(allow).toHaveBeenCalledWith('ok.1', { mode: 'event', pattern: 'work', destination: 'work' });
    expect(policy.admits(message('boom'), never)).toBe(false);
    expect(warn.mock.calls[0]![0]).toMatch(/predicate threw \(predicate bug\)/);
  });

  it('logs one line per interval, quoting at most a bounded piece of the address', () => {
    const warn = vi.fn();
    const policy = new ReplyPolicy({ allow: [] }, warn, vi.fn());
    const hostile = `x\n${'y'.repeat(10_000)}`;
    for (let i = 0; i < 100; i++) policy.admits(message(hostile), never);
    expect(warn).toHaveBeenCalledTimes(1);
    const line = warn.mock.calls[0]![0] as string;
    expect(line).not.toContain('\n');
    expect(line.length).toBeLessThan(400);
  });

  it('refuses an allow option of the wrong shape with a TypeError', () => {
    expect(() => new ReplyPolicy({ allow: 'x' as never }, vi.fn(), vi.fn())).toThrow(TypeError);
    expect(() => new ReplyPolicy({ allow: [1 as never] }, vi.fn(), vi.fn())).toThrow(TypeError);
  });
});

describe('A server over a fake transport', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    ran.length = 0;
    results.length = 0;
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('drops, unhandled, a request whose reply address is one of its own request destinations', async () => {
    const broker = new FakeBroker();
    const { app, server } = await start(broker);
    apps.push(app);
    rawRequest(broker, 'work', 'other');
    await expect.poll(() => server.counters.replyAddressesRefused).toBe(1);
    expect(ran).toEqual([]);
    expect(broker.published.filter((m) => m.destination === 'other')).toHaveLength(0);
    // an event handler's destination is a legitimate reply-elsewhere target
    rawRequest(broker, 'work', 'result', { [Headers.replyMode]: 'event' });
    await expect.poll(() => results).toEqual([1]);
  });

  it('with replyTo.allow, refuses a foreign address and still answers its own clients', async () => {
    const broker = new FakeBroker();
    const { app, server } = await start(broker, { replyTo: { allow: ['inbox', 'result'] } });
    apps.push(app);
    rawRequest(broker, 'work', 'someone.else');
    await expect.poll(() => server.counters.replyAddressesRefused).toBe(1);
    const client = new FakeClient(broker);
    await expect(firstValueFrom(client.send('work', 7))).resolves.toBe(7);
    await lastValueFrom(client.emit('work', new RpcRecordBuilder(8).setReplyTo('result').build()), {
      defaultValue: undefined,
    });
    await expect.poll(() => results).toEqual([8]);
    expect(broker.published.filter((m) => m.destination === 'someone.else')).toHaveLength(0);
    expect(server.counters.replyAddressesRefused).toBe(1);
  });

  it('logs, and does not publish, the error of a reply-elsewhere request', async () => {
    const broker = new FakeBroker();
    const { app, server } = await start(broker);
    apps.push(app);
    const client = new FakeClient(broker);
    const emit = (pattern: string, data: unknown) =>
      lastValueFrom(client.emit(pattern, new RpcRecordBuilder(data).setReplyTo('result').build()), {
        defaultValue: undefined,
      });
    await emit('fail', 1);
    await emit('work', 2);
    await expect.poll(() => results).toEqual([2]);
    expect(server.counters.replyElsewhereErrors).toBe(1);
    expect(broker.published.filter((m) => m.headers[Headers.error] !== undefined)).toHaveLength(0);
  });

  it("answers bad-request without the deserializer's exception text, which it logs", async () => {
    const broker = new FakeBroker();
    const server = new FakeServer(broker, {
      deserializer: {
        deserialize: () => {
          throw new Error('db password is hunter2');
        },
      },
    });
    const warn = vi.spyOn((server as unknown as { logger: { warn: (text: string) => void } }).logger, 'warn');
    const app = await NestFactory.createMicroservice(PolicyModule, {
      strategy: server,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    const err = await firstValueFrom(new FakeClient(broker).send('work', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('bad-request');
    expect(JSON.stringify(err.error)).not.toContain('hunter2');
    expect(err.error).toEqual({ status: 'error', message: 'Could not decode the message on "work"' });
    expect(warn.mock.calls.some(([text]) => String(text).includes('hunter2'))).toBe(true);
  });
});

describe('A client over a fake transport', () => {
  it('reports a reply it cannot decode as RpcDecodeError, not as a remote bad-request', async () => {
    const broker = new FakeBroker();
    broker.routes.set('garbled', (msg) =>
      broker.deliver({
        destination: msg.replyTo!,
        correlationId: msg.correlationId,
        body: Buffer.from('{not json'),
        contentType: 'application/json',
        headers: {},
      }),
    );
    const client = new FakeClient(broker);
    const err = await firstValueFrom(client.send('garbled', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcDecodeError);
    expect(RpcError.is(err, 'RPC_DECODE')).toBe(true);
    expect(err.pattern).toBe('garbled');
    expect(err.cause).toBeInstanceOf(Error);

    const picky = new FakeClient(broker, {
      deserializer: {
        deserialize: () => {
          throw new Error('unexpected shape');
        },
      },
    });
    broker.routes.set('fine', (msg) =>
      broker.deliver({ ...msg, destination: msg.replyTo!, headers: {}, replyTo: undefined }),
    );
    const err2 = await firstValueFrom(picky.send('fine', 1)).catch((e) => e);
    expect(err2).toBeInstanceOf(RpcDecodeError);
    expect(err2.message).toContain('unexpected shape');
  });
});

describe('Header maps', () => {
  it('keep a header named __proto__ as an entry, never as the prototype', () => {
    const wire = JSON.parse('{"__proto__": {"rpc-error": "internal"}, "x-a": "b"}') as Record<string, string>;
    const copy = userHeaders(wire);
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(copy['rpc-error']).toBeUndefined();
    expect(copy['x-a']).toBe('b');
  });
});
