import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';

// amqplib's recovery: connect() builds a model and awaits `recovery.setup(model)` before it attaches
// listeners of its own to that model.
vi.mock('amqplib', () => ({
  default: {
    connect: async (_url: unknown, options: { recovery: { setup: (model: unknown) => Promise<void> } }) => {
      await options.recovery.setup(new EventEmitter());
      return Object.assign(new EventEmitter(), { waitForConnect: async () => {}, close: async () => {} });
    },
  },
}));

const { RabbitLink } = await import('../../../lib/rabbitmq/rabbit-connection.js');

describe('RabbitLink', () => {
  it('handles a connection error emitted while setup runs (a forced close, a heartbeat timeout)', async () => {
    let finishSetup!: () => void;
    let entered!: (model: ChannelModel) => void;
    const inSetup = new Promise<ChannelModel>((resolve) => (entered = resolve));
    const logged: string[] = [];
    const noop = () => undefined;
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
