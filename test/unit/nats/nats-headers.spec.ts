import { headers, type Msg, MsgHdrsImpl, MsgImpl } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { readHeaders, readMsgHeaders, writeHeaders } from '../../../lib/nats/nats-headers.js';

const publisher = { publish: () => undefined };

/** A message as nats.js's parser hands it over: the header block, then the body, in one buffer. */
function messageOf(block: string | undefined, body = '{"a":1}'): MsgImpl {
  const head = block === undefined ? new Uint8Array(0) : Buffer.from(block, 'utf8');
  const data = Buffer.concat([head, Buffer.from(body, 'utf8')]);
  const hdr = block === undefined ? -1 : head.length;
  return new MsgImpl({ subject: Buffer.from('s'), sid: 1, hdr, size: data.length }, data, publisher);
}

/** What nats.js itself reads from the same block (`msg.headers`, copied). */
function natsRead(block: string): { headers: Record<string, string>; code: number } {
  const hdrs = MsgHdrsImpl.decode(Buffer.from(block, 'utf8'));
  return { headers: readHeaders(hdrs), code: hdrs.code };
}

describe('NATS header reading from the message bytes', () => {
  const blocks = [
    'NATS/1.0\r\ncontent-type: application/json\r\nrpc-deadline: 1764800000000\r\n\r\n',
    'NATS/1.0\r\nx-a: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n',
    'NATS/1.0\r\nx-pad:   spaced value  \r\nno colon here\r\n\r\nx-b:\r\n\r\n',
    'NATS/1.0\r\nx-text: grüße 🙂\r\nx-colon: a:b:c\r\n\r\n',
    'NATS/1.0\r\n__proto__: x\r\nconstructor: y\r\n\r\n',
    'NATS/1.0\r\n\r\n',
  ];

  it.each(blocks)('reads what nats.js reads: %j', (block) => {
    const read = readMsgHeaders(messageOf(block))!;
    expect(read).toEqual(natsRead(block));
    expect(Object.getPrototypeOf(read.headers)).toBeNull();
  });

  it('reads what writeHeaders wrote, and leaves the body alone', () => {
    const block = new TextDecoder().decode(
      (writeHeaders({ 'x-tenant': 'a' }, 'application/json', 'c1') as MsgHdrsImpl).encode(),
    );
    const msg = messageOf(block, '{"big":true}');
    expect(readMsgHeaders(msg)!.headers).toEqual({
      'x-tenant': 'a',
      'content-type': 'application/json',
      correlation_id: 'c1',
    });
    expect(msg.string()).toBe('{"big":true}');
  });

  it('goes the nats.js way for a status line with a code', () => {
    const block = 'NATS/1.0 503\r\n\r\n';
    expect(readMsgHeaders(messageOf(block, ''))).toEqual({ headers: {}, code: 503 });
    const described = 'NATS/1.0 408 Request Timeout\r\nx-a: 1\r\n\r\n';
    expect(readMsgHeaders(messageOf(described, ''))).toEqual(natsRead(described));
  });

  it('refuses a header name nats.js refuses, as nats.js does', () => {
    const block = 'NATS/1.0\r\nbad name: v\r\n\r\n';
    expect(() => natsRead(block)).toThrow(/not a valid character/);
    expect(() => readMsgHeaders(messageOf(block))).toThrow(/not a valid character/);
  });

  it('is undefined without headers, and reads any other Msg through its headers', () => {
    expect(readMsgHeaders(messageOf(undefined))).toBeUndefined();
    const hdrs = headers();
    hdrs.set('x-a', '1');
    const other = { headers: hdrs, data: new Uint8Array(0) } as unknown as Msg;
    expect(readMsgHeaders(other)).toEqual({ headers: { 'x-a': '1' }, code: 0 });
    expect(readMsgHeaders({ headers: undefined } as unknown as Msg)).toBeUndefined();
  });
});

describe('NATS header writing', () => {
  it('encodes what nats.js encodes for the same headers', () => {
    const expected = headers();
    expected.set('x-tenant', 'a');
    expected.set('traceparent', '00-abc-def-01');
    expected.set('rpc-deadline', '1764800000000');
    expected.set('content-type', 'application/json');
    expected.set('correlation_id', 'c1');
    const written = writeHeaders(
      { 'x-tenant': 'a', traceparent: '00-abc-def-01', 'rpc-deadline': '1764800000000' },
      'application/json',
      'c1',
    );
    const bytes = (h: unknown) => Buffer.from((h as MsgHdrsImpl).encode()).toString('latin1');
    expect(bytes(written)).toBe(bytes(expected));
    const utf8 = writeHeaders({ 'x-text': 'grüße 🙂' }, 'text/plain');
    const natsUtf8 = headers();
    natsUtf8.set('x-text', 'grüße 🙂');
    natsUtf8.set('content-type', 'text/plain');
    expect(bytes(utf8)).toBe(bytes(natsUtf8));
  });

  it('trims values and refuses names and values nats.js refuses', () => {
    expect(writeHeaders({ 'x-a': '  v  ' }, 'text/plain').get('x-a')).toBe('v');
    expect(() => writeHeaders({ 'bad name': 'v' }, 'text/plain')).toThrow(/not a valid character/);
    expect(() => writeHeaders({ 'x:y': 'v' }, 'text/plain')).toThrow(/not a valid character/);
    expect(() => writeHeaders({ 'x-a': 'a\r\nx-b: injected' }, 'text/plain')).toThrow(/\\r or \\n/);
  });

  it('gives headers nats.js can add to (JetStream publishes set their own)', () => {
    const written = writeHeaders({}, 'text/plain');
    written.set('Nats-Msg-Id', 'm1');
    expect(written.get('Nats-Msg-Id')).toBe('m1');
    expect(written.get('content-type')).toBe('text/plain');
  });
});
