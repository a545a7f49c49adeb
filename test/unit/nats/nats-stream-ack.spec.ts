import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { streamAckOf } from '../../../lib/nats/nats-stream-ack.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const headerless = (text: string) => ({ headers: undefined, data: bytes(text) });

describe('streamAckOf', () => {
  // Bodies as nats-server 2.9.10 sends them (spacing included), always without headers.
  it('reads a publish ack, a duplicate ack and a refusal', () => {
    expect(streamAckOf(headerless('{"stream":"ORDERS", "seq":1}'))).toEqual({ stream: 'ORDERS', seq: 1 });
    expect(streamAckOf(headerless('{"stream":"ORDERS", "seq":1,"duplicate": true}'))).toEqual({
      stream: 'ORDERS',
      seq: 1,
    });
    expect(streamAckOf(headerless('{"stream":"ORDERS", "seq":3,"domain":"hub"}'))).toMatchObject({
      stream: 'ORDERS',
    });
    expect(
      streamAckOf(
        headerless(
          '{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"ORDERS","seq":0}',
        ),
      ),
    ).toEqual({ stream: 'ORDERS', seq: 0, error: 'maximum messages exceeded' });
  });

  it('never takes a reply with headers for an ack: our servers always send content-type', () => {
    const hdrs = headers();
    hdrs.set('content-type', 'application/json');
    expect(streamAckOf({ headers: hdrs, data: bytes('{"stream":"x","seq":1}') })).toBeUndefined();
  });

  it('leaves other header-less bodies alone', () => {
    for (const text of [
      '',
      'plain text',
      '[1,2]',
      '{"stream":"x"}',
      '{"stream":1,"seq":1}',
      '{"stream":"x","seq":"1"}',
      '{"stream":"x","seq":1,"total":3}',
      '{"stream":"x","seq":1',
    ])
      expect(streamAckOf(headerless(text)), text).toBeUndefined();
  });
});
