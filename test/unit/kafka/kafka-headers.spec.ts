import { describe, expect, it } from 'vitest';
import { replyHeaders, replyPartitionOf, replyRouteOf } from '../../../lib/kafka/kafka-headers.js';
import type { HeaderMap } from '../../../lib/core/wire.js';

const body = Buffer.from('{"a":1}');

describe('Kafka reply routes and headers', () => {
  it('prefers correlation_id / reply_to (FastStream names)', () => {
    expect(
      replyRouteOf({ correlation_id: 'c1', reply_to: 'r', kafka_replyTopic: 'x', kafka_correlationId: 'y' }),
    ).toEqual({
      style: 'native',
      replyTo: 'r',
      correlationId: 'c1',
    });
  });

  it('falls back to the Nest/Spring kafka_* headers, partition included', () => {
    expect(
      replyRouteOf({ kafka_correlationId: 'n1', kafka_replyTopic: 'p.reply', kafka_replyPartition: '2' }),
    ).toEqual({
      style: 'nest',
      replyTo: 'p.reply',
      correlationId: 'n1',
      partition: 2,
    });
    expect(
      replyRouteOf({ kafka_correlationId: 'n1', kafka_replyTopic: 'p.reply', kafka_replyPartition: 'x' })
        .partition,
    ).toBeUndefined();
  });

  it('has no reply address without reply_to or kafka_replyTopic (an event)', () => {
    expect(replyRouteOf({ correlation_id: 'c' }).replyTo).toBeUndefined();
    expect(replyRouteOf({}).replyTo).toBeUndefined();
  });

  it('writes native replies with correlation_id, content type and markers', () => {
    const out = replyHeaders(
      { style: 'native' },
      { headers: { 'rpc-stream': 'next' }, contentType: 'application/json', correlationId: 'c', body },
    );
    expect(out.headers).toEqual({
      'rpc-stream': 'next',
      'content-type': 'application/json',
      correlation_id: 'c',
    });
    expect(out.value).toBe(body);
  });

  it('writes Nest-style replies: kafka_correlationId, is-disposed on the last, kafka_nest-err on errors', () => {
    const route = { style: 'nest' as const };
    const final = replyHeaders(route, {
      headers: {},
      contentType: 'application/json',
      correlationId: 'n',
      body,
    });
    expect(final.headers).toMatchObject({ kafka_correlationId: 'n', 'kafka_nest-is-disposed': '1' });
    const next = replyHeaders(route, {
      headers: { 'rpc-stream': 'next' },
      contentType: 'application/json',
      correlationId: 'n',
      body,
    });
    expect(next.headers['kafka_nest-is-disposed']).toBeUndefined();
    const end = replyHeaders(route, {
      headers: { 'rpc-stream': 'end' },
      contentType: 'application/json',
      correlationId: 'n',
      body: new Uint8Array(0),
    });
    expect(end).toMatchObject({ value: null, headers: { 'kafka_nest-is-disposed': '1' } });
    const err = replyHeaders(route, {
      headers: { 'rpc-error': 'exception' },
      contentType: 'application/json',
      correlationId: 'n',
      body,
    });
    expect(err).toMatchObject({ value: null, headers: { 'kafka_nest-err': '{"a":1}' } });
  });

  describe('Spring ReplyingKafkaTemplate headers (bytes)', () => {
    // 16 raw UUID bytes as Spring sends them, not valid UTF-8: decoded, they lose bytes to U+FFFD
    const uuid = Buffer.from('ff00c3e29c8a4b7d80fe112233445566', 'hex');
    const request = (extra: Record<string, Buffer> = {}) => {
      const bytes: Record<string, Buffer> = {
        kafka_correlationId: uuid,
        kafka_replyTopic: Buffer.from('spring.replies'),
        ...extra,
      };
      const headers = Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, v.toString('utf8')]));
      return { headers, bytes };
    };

    it('copies a non-UTF-8 kafka_correlationId back byte-exact on every kind of reply, text ids as text', () => {
      const { headers, bytes } = request();
      const route = replyRouteOf(headers, bytes);
      expect(route).toMatchObject({ style: 'nest', replyTo: 'spring.replies', correlationIdBytes: uuid });
      expect(Buffer.from(route.correlationId!, 'utf8').equals(uuid)).toBe(false); // what was lost
      for (const marker of [{}, { 'rpc-stream': 'end' }, { 'rpc-error': 'exception' }] as HeaderMap[]) {
        const out = replyHeaders(route, {
          headers: marker,
          contentType: 'application/json',
          correlationId: route.correlationId,
          body,
        });
        expect(out.headerBytes?.kafka_correlationId?.equals(uuid)).toBe(true);
      }
      // text callers (Nest ClientKafka, FastStream) get no header bytes
      const nest = replyRouteOf({ kafka_correlationId: 'n1', kafka_replyTopic: 'p.reply' });
      const out = replyHeaders(nest, {
        headers: {},
        contentType: 'application/json',
        correlationId: 'n1',
        body,
      });
      expect(out.headerBytes).toBeUndefined();
      const native = replyRouteOf(
        { correlation_id: 'c', reply_to: 'r' },
        { correlation_id: Buffer.from('c') },
      );
      expect(
        replyHeaders(native, { headers: {}, contentType: 'x', correlationId: 'c', body }).headerBytes,
      ).toBeUndefined();
    });

    it('reads kafka_replyPartition as a 4-byte big-endian int (Spring) or decimal text (Nest), optional', () => {
      const int32 = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(n);
        return b;
      };
      const partitionOf = (raw: Buffer) => {
        const { headers, bytes } = request({ kafka_replyPartition: raw });
        return replyRouteOf(headers, bytes).partition;
      };
      expect(partitionOf(int32(0))).toBe(0);
      expect(partitionOf(int32(3))).toBe(3);
      expect(partitionOf(int32(300))).toBe(300); // 0x2c: a byte that is a comma in text
      expect(partitionOf(Buffer.from('7'))).toBe(7);
      expect(partitionOf(Buffer.from('1234'))).toBe(1234); // four digits: text, not an int
      expect(partitionOf(int32(-1))).toBeUndefined();
      expect(partitionOf(Buffer.from('x'))).toBeUndefined();
      expect(partitionOf(Buffer.alloc(0))).toBeUndefined();
      expect(replyPartitionOf({ kafka_replyPartition: '5' })).toBe(5); // text only (no bytes from the driver)
      expect(replyRouteOf(request().headers, request().bytes).partition).toBeUndefined(); // not sent
    });
  });
});
