import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import amqp, { type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coalesceWrites } from '../../../lib/rabbitmq/rabbit-coalesce.js';
import { UrlRotation } from '../../../lib/rabbitmq/rabbit-urls.js';

// Guards for the two places that rely on amqplib internals (checked against amqplib 2.3.1): when one
// fails, amqplib changed underneath them; re-read its lib/mux.js or lib/recovery.js and adapt the code.
const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib')); // its package.json is not exported
const installed = (require(join(amqplibDir, 'package.json')) as { version: string }).version;
const changed = (what: string) => `amqplib ${installed} (checked against 2.3.1): ${what}`;
const { Connection } = require(join(amqplibDir, 'lib/connection.js')) as {
  Connection: new (stream: Duplex) => unknown;
};
const { ChannelModel: AmqpChannelModel } = require(join(amqplibDir, 'lib/channel_model.js')) as {
  ChannelModel: new (connection: unknown) => ChannelModel;
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
