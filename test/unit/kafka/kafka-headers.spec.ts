import { describe, expect, it } from 'vitest';
import { replyHeaders, replyRouteOf } from '../../../lib/kafka/kafka-headers.js';

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
});
