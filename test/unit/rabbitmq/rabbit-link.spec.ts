import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';

// amqplib's recovery: connect() builds a model and awaits `recovery.setup(model)` before it attaches
// listeners of its own to that model.
vi.mock('amqplib', () => ({
  default: {
    connect: async (_url: unknown, options: { recovery?: { setup: (model: unknown) => Promise<void> } }) => {
      await options.recovery?.setup(new EventEmitter());
      return Object.assign(new EventEmitter(), { waitForConnect: async () => {}, close: async () => {} });
    },
  },
}));

const { RabbitLink } = await import('../../../lib/rabbitmq/rabbit-link.js');
const { RabbitTopologyError } = await import('../../../lib/rabbitmq/rabbit-topology.js');
const { RpcConnectionError } = await import('../../../lib/core/errors.js');

const noop = () => undefined;
/** A link without recovery over two URLs whose setup (queue declaration) fails with `error`. */
function failingLink(error: Error) {
  return new RabbitLink(
    { urls: ['amqp://a', 'amqp://b'], reconnect: false, coalesceWrites: false },
    {
      setup: async () => {
        throw error;
      },
      disconnected: noop,
      reconnected: noop,
      reconnecting: noop,
      gaveUp: noop,
      blocked: noop,
      unblocked: noop,
    },
    { warn: noop, debug: noop },
  );
}

describe('RabbitLink', () => {
  it('handles a connection error emitted while setup runs (a forced close, a heartbeat timeout)', async () => {
    let finishSetup!: () => void;
    let entered!: (model: ChannelModel) => void;
    const inSetup = new Promise<ChannelModel>((resolve) => (entered = resolve));
    const logged: string[] = [];
    const link = new RabbitLink(
      { urls: ['amqp://fake'], coalesceWrites: false },
      {
        setup: (model) => {
          entered(model);
          return new Promise<void>((resolve) => (finishSetup = resolve));
        },
        disconnected: noop,
        reconnected: noop,
        reconnecting: noop,
        gaveUp: noop,
        blocked: noop,
        unblocked: noop,
      },
      { warn: (m) => void logged.push(m), debug: (m) => void logged.push(m) },
    );
    const opening = link.open();
    const model = await inSetup;
    // An 'error' event nobody listens to throws (in production: out of a socket callback, ending the process).
    expect(() =>
      model.emit('error', new Error('CONNECTION_FORCED - broker forced connection closure')),
    ).not.toThrow();
    expect(logged).toEqual(['Connection error: CONNECTION_FORCED - broker forced connection closure']);
    finishSetup();
    await opening;
    await link.close();
  });
});

describe('RabbitLink setup errors', () => {
  it('fails at once with a topology error, recognised by its code, not its name', async () => {
    const refused = new RabbitTopologyError(
      'queue',
      'q',
      406,
      'Queue "q" already exists with different settings',
    );
    expect(refused.code).toBe('RPC_TOPOLOGY');
    Object.defineProperty(refused, 'name', { value: 'Error' }); // a name proves nothing
    await expect(failingLink(refused).open()).rejects.toBe(refused);
  });

  it('wraps any other setup error, whatever its name, with the URLs it tried', async () => {
    const other = Object.assign(new Error('channel closed'), { name: 'RabbitTopologyError' });
    const err = await failingLink(other)
      .open()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect((err as Error).message).toBe(
      'Could not connect to RabbitMQ at amqp://a, amqp://b: channel closed',
    );
    expect((err as Error).cause).toBe(other);
  });
});
