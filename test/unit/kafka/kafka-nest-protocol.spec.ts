import { describe, expect, it } from 'vitest';
import { NEST_NO_HANDLER } from '../../../lib/core/nest-envelope.js';
import { Headers } from '../../../lib/core/wire.js';
import { NestKafkaHeaders } from '../../../lib/kafka/kafka-headers.js';
import { nestKafkaRequestHeaders, readNestKafkaReply } from '../../../lib/kafka/kafka-nest-protocol.js';

const text = (body: Uint8Array) => Buffer.from(body).toString('utf8');

describe("Kafka protocol 'nest': a Nest ServerKafka's headers", () => {
  it('puts kafka_correlationId and kafka_replyTopic on a request, no reply partition', () => {
    const headers = nestKafkaRequestHeaders({ trace: 't' }, 'application/json', 'c1', 'svc.replies');
    expect(headers).toEqual({
      trace: 't',
      [Headers.contentType]: 'application/json',
      kafka_correlationId: 'c1',
      kafka_replyTopic: 'svc.replies',
    });
  });

  it('reads a final value, a stream value, the end of a stream', () => {
    const final = readNestKafkaReply(
      { [NestKafkaHeaders.correlationId]: 'c1', [NestKafkaHeaders.isDisposed]: '\u0000' },
      Buffer.from('6'),
    );
    expect(final.correlationId).toBe('c1');
    expect(final.reply.headers[Headers.stream]).toBeUndefined();
    expect(text(final.reply.body)).toBe('6');
    const next = readNestKafkaReply({ [NestKafkaHeaders.correlationId]: 'c1' }, Buffer.from('1'));
    expect(next.reply.headers[Headers.stream]).toBe('next');
    const end = readNestKafkaReply(
      { [NestKafkaHeaders.correlationId]: 'c1', [NestKafkaHeaders.isDisposed]: '\u0000' },
      null,
    );
    expect(end.reply.headers[Headers.stream]).toBe('end');
  });

  it('reads kafka_nest-err as JSON or text, and Nest no-handler text as no-handler', () => {
    const json = readNestKafkaReply({ [NestKafkaHeaders.error]: '{"code":"E"}' }, null).reply;
    expect(json.headers[Headers.error]).toBe('exception');
    expect(JSON.parse(text(json.body))).toEqual({ code: 'E' });
    const plain = readNestKafkaReply({ [NestKafkaHeaders.error]: 'boom' }, null).reply;
    expect(text(plain.body)).toBe('boom');
    expect(
      readNestKafkaReply({ [NestKafkaHeaders.error]: NEST_NO_HANDLER }, null).reply.headers[Headers.error],
    ).toBe('no-handler');
  });
});
