import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coalesceWrites } from '../../../lib/rabbitmq/rabbit-coalesce.js';
import { cutSocket } from '../../../lib/rabbitmq/rabbit-cut.js';
import { publishMessage, type PublishProperties } from '../../../lib/rabbitmq/rabbit-publish.js';
import { UrlRotation } from '../../../lib/rabbitmq/rabbit-urls.js';

// Guards for the four places that rely on amqplib internals (checked against amqplib 2.3.1): when one
// fails, amqplib changed underneath them; re-read its lib/mux.js, lib/connection.js, lib/recovery.js or lib/channel_model.js and api_args.js and adapt the code.
const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib')); // its package.json is not exported
const installed = (require(join(amqplibDir, 'package.json')) as { version: string }).version;
const changed = (what: string) => `amqplib ${installed} (checked against 2.3.1): ${what}`;
const { Connection } = require(join(amqplibDir, 'lib/connection.js')) as {
  Connection: new (stream: Duplex) => unknown;
};
const { ChannelModel: AmqpChannelModel, Channel: AmqpChannel } = require(
  join(amqplibDir, 'lib/channel_model.js'),
) as {
  ChannelModel: new (connection: unknown) => ChannelModel;
  Channel: { prototype: Channel };
};

describe('amqplib internals rabbit-coalesce.ts relies on', () => {
  it("wraps the muxer's write pass, which amqplib calls through the instance, in one corked write", async () => {
    const writes: number[] = []; // chunks per call reaching the socket
    const socket = new Duplex({
      read() {},
      write(_chunk, _encoding, done) {
        writes.push(1);
        done();
      },
      writev(chunks, done) {
        writes.push(chunks.length);
        done();
      },
    });
    const model = new AmqpChannelModel(new Connection(socket));
    const muxer = (model as unknown as { connection: { muxer?: { _readIncoming?: unknown } } }).connection
      .muxer;
    expect(typeof muxer?._readIncoming, changed('connection.muxer._readIncoming is not a function')).toBe(
      'function',
    );
    expect(coalesceWrites(model), changed('connection.muxer or connection.stream look different')).toBe(true);

    const frames = (n: number) => Readable.from([Buffer.from(`frame ${n}`)], { objectMode: false });
    const pipeFrom = (muxer as unknown as { pipeFrom: (r: Readable) => void }).pipeFrom.bind(muxer);
    pipeFrom(frames(1));
    pipeFrom(frames(2));
    await expect
      .poll(() => writes.reduce((a, b) => a + b, 0), {
        message: changed('the muxer did not write the frames piped into it'),
      })
      .toBe(2);
    expect(writes, changed('the muxer pass no longer runs through the patched _readIncoming')).toEqual([2]);
    socket.destroy();
  });
});

describe('amqplib internals rabbit-cut.ts relies on', () => {
  // What amqplib does once the socket fails (closes the connection, its channels and its heartbeat, emits
  // 'close') needs a broker: test/integration/support/silent-broker-close.ts checks it on RabbitMQ.
  it('finds the socket amqplib reads and writes at connection.stream, and destroys it with the reason', () => {
    const socket = new Duplex({
      read() {},
      write(_c, _e, done) {
        done();
      },
    });
    const errors: Error[] = [];
    socket.on('error', (err) => errors.push(err));
    const model = new AmqpChannelModel(new Connection(socket));
    expect(
      (model as unknown as { connection: { stream?: unknown } }).connection.stream,
      changed('connection.stream is not the socket'),
    ).toBe(socket);
    expect(cutSocket(model, 'cut by the test'), changed('connection.stream has no destroy()')).toBe(true);
    expect(socket.destroyed).toBe(true);
  });

  it('reports that it did not apply when connection.stream is missing', () => {
    expect(cutSocket({ connection: {} } as unknown as ChannelModel, 'cut by the test')).toBe(false);
  });
});

describe('amqplib internals rabbit-urls.ts relies on', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads the connect object it was given again on every recovery attempt', async () => {
    const dialled: string[] = [];
    vi.spyOn(net, 'connect').mockImplementation(((options: net.NetConnectOpts) => {
      const { host, port } = options as net.TcpNetConnectOpts;
      dialled.push(`${host}:${port}`);
      const socket = Object.assign(new EventEmitter(), { setTimeout() {}, end() {}, destroy() {} });
      setImmediate(() =>
        socket.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      );
      return socket;
    }) as unknown as typeof net.connect);

    const rotation = new UrlRotation(['amqp://node-a:1001', 'amqp://node-b:1002', 'amqp://node-c:1003']);
    const connection = await amqp.connect(rotation.target, {
      recovery: { initialMaxRetries: 2, initialDelay: 0, maxDelay: 0, jitter: 0, waitForConnect: false },
    });
    connection.on('connect-failed', () => rotation.next()); // what RabbitLink does
    await new Promise((resolve) => connection.once('reconnect-failed', resolve));
    await connection.close().catch(() => undefined);
    expect(
      dialled,
      changed('recovery no longer dials the fields of the same connect object per attempt'),
    ).toEqual(['node-a:1001', 'node-b:1002', 'node-c:1003']);
  });
});

describe('amqplib internals rabbit-publish.ts relies on', () => {
  /** What reaches `sendMessage` (the frame encoder's input) when `publish` is called on a channel. */
  function sent(publish: (ch: Channel) => unknown): { fields: Record<string, unknown>; content: Buffer } {
    const calls: unknown[][] = [];
    const ch = Object.create(AmqpChannel.prototype) as Channel;
    (ch as unknown as { sendMessage: (...args: unknown[]) => boolean }).sendMessage = (...args) => {
      calls.push(args);
      return true;
    };
    publish(ch);
    expect(calls, changed('Channel#publish no longer hands its message to sendMessage')).toHaveLength(1);
    const [fields, properties, content] = calls[0]!;
    expect(properties, changed('publish passes other properties than its fields')).toBe(fields);
    return { fields: fields as Record<string, unknown>, content: content as Buffer };
  }
  /** The fields with their headers as a plain object of what they enumerate (amqplib's own and inherited). */
  const plain = (f: Record<string, unknown>) => {
    const headers: Record<string, unknown> = {};
    for (const key in (f.headers as object | undefined) ?? {})
      headers[key] = (f.headers as Record<string, unknown>)[key];
    return { ...f, headers: Object.keys(headers).length ? headers : undefined };
  };

  it.each<[string, PublishProperties]>([
    [
      'a request',
      {
        correlationId: 'c-1',
        replyTo: 'amq.rabbitmq.reply-to',
        contentType: 'application/json',
        headers: { 'rpc-deadline': '1796236137520' },
        mandatory: true,
        persistent: false,
        expiration: '30000',
      },
    ],
    ['a reply without headers', { correlationId: 'c-2', contentType: 'text/plain', headers: {} }],
    ['a persistent one, no content type', { persistent: true, headers: { a: '1', b: '2' } }],
  ])('builds the same fields and properties as Channel#publish for %s', (_name, p) => {
    const content = Buffer.from('{}');
    const theirs = sent((ch) => ch.publish('ex', 'key', content, p));
    const ours = sent((ch) => publishMessage(ch, 'ex', 'key', content, p));
    expect(Object.keys(ours.fields).sort(), changed('Args.publish builds other fields')).toEqual(
      Object.keys(theirs.fields).sort(),
    );
    expect(plain(ours.fields), changed('Args.publish builds other values')).toEqual(plain(theirs.fields));
    expect(ours.content).toBe(content);
  });

  it('falls back to publish on a channel without sendMessage', () => {
    const published: unknown[][] = [];
    const ch = {
      publish: (...args: unknown[]) => published.push(args) > 0,
    } as unknown as Channel;
    expect(publishMessage(ch, '', 'q', Buffer.from('x'), { correlationId: 'c' })).toBe(true);
    expect(published).toEqual([['', 'q', Buffer.from('x'), { correlationId: 'c' }]]);
  });
});
