import { describe, expect, it } from 'vitest';
import {
  consumerName,
  DEFAULT_JETSTREAM_ACK_WAIT,
  resolveJetStreamClientOptions,
  resolveJetStreamServerOptions,
} from '../../../../lib/nats/jetstream/jetstream-options.js';
import { natsConnectionOptions } from '../../../../lib/nats/nats-rpc.options.js';

describe('JetStream server options', () => {
  it('is off unless asked for', () => {
    expect(resolveJetStreamServerOptions(undefined)).toBeUndefined();
    expect(resolveJetStreamServerOptions(false)).toBeUndefined();
  });

  it('fills in the documented defaults for `true`', () => {
    expect(resolveJetStreamServerOptions(true)).toEqual({
      stream: 'RPC_REQUESTS',
      createStream: true,
      storage: 'file',
      retention: 'workqueue',
      consumerPrefix: 'rpc',
      ackWait: 30_000,
      workingInterval: 10_000,
      maxDeliver: 5,
      retryDelay: 1_000,
      deadLetterSubject: 'rpc.dead-letter',
      deadLetterStream: 'RPC_DEAD_LETTER',
    });
    expect(DEFAULT_JETSTREAM_ACK_WAIT).toBe(30_000);
  });

  it('derives the working-ack interval from ackWait, and keeps the given values', () => {
    const o = resolveJetStreamServerOptions({ ackWait: 3_000, maxDeliver: 2, deadLetterSubject: false });
    expect(o).toMatchObject({
      ackWait: 3_000,
      workingInterval: 1_000,
      maxDeliver: 2,
      deadLetterSubject: false,
    });
  });

  it('refuses bad numbers and names with errors naming the option', () => {
    expect(() => resolveJetStreamServerOptions({ ackWait: 0 })).toThrow(/jetstream\.ackWait/);
    expect(() => resolveJetStreamServerOptions({ maxDeliver: 1.5 })).toThrow(/jetstream\.maxDeliver/);
    expect(() => resolveJetStreamServerOptions({ ackWait: 1_000, workingInterval: 1_000 })).toThrow(
      /workingInterval .* shorter than jetstream\.ackWait/,
    );
    expect(() => resolveJetStreamServerOptions({ stream: 'a.b' })).toThrow(/jetstream\.stream/);
    expect(() => resolveJetStreamServerOptions({ consumerPrefix: 'a b' })).toThrow(/consumerPrefix/);
    expect(() => resolveJetStreamServerOptions({ stream: 'X', deadLetterStream: 'X' })).toThrow(
      /deadLetterStream must differ/,
    );
  });

  it('names one durable consumer per subject, wildcards spelled out', () => {
    expect(consumerName('rpc', 'math.sum')).toBe('rpc_math_sum');
    expect(consumerName('rpc', 'greet.*')).toBe('rpc_greet_STAR');
    expect(consumerName('rpc', 'jobs.>')).toBe('rpc_jobs_GT');
  });
});

describe('JetStream client options', () => {
  it('is off unless asked for, with a 5 s publish-ack timeout by default', () => {
    expect(resolveJetStreamClientOptions(undefined)).toBeUndefined();
    expect(resolveJetStreamClientOptions(true)).toEqual({ publishTimeout: 5_000 });
    expect(resolveJetStreamClientOptions({ stream: 'S', publishTimeout: 100 })).toEqual({
      stream: 'S',
      publishTimeout: 100,
    });
    expect(() => resolveJetStreamClientOptions({ publishTimeout: -1 })).toThrow(/publishTimeout/);
  });

  it('is not passed on to nats.js connect()', () => {
    expect(natsConnectionOptions({ servers: 'x', jetstream: true })).not.toHaveProperty('jetstream');
  });
});

describe('JetStream and the Nest protocol', () => {
  it("refuses a client with protocol 'nest' and jetstream, naming both", async () => {
    const { NatsRpcClient } = await import('../../../../lib/nats/nats-rpc.client.js');
    expect(() => new NatsRpcClient({ protocol: 'nest', jetstream: true })).toThrow(
      /protocol 'nest' and jetstream/,
    );
    expect(() => new NatsRpcClient({ protocol: 'nest' })).not.toThrow();
    expect(() => new NatsRpcClient({ jetstream: true })).not.toThrow();
  });
});
