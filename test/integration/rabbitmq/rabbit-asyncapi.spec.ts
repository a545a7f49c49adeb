// The AsyncAPI document of an app on a real RabbitMQ broker.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { asyncApiConformance } from '../support/asyncapi.js';

const prefix = `asyncapi-${randomUUID().slice(0, 8)}`;

asyncApiConformance('RabbitMQ', () => ({
  prefix,
  server: () => new RabbitRpcServer({ urls: [AMQP_URL], queue: { autoDelete: true } }),
  // a private, server-named reply queue: its name is known once connected
  client: () => new RabbitRpcClient({ urls: [AMQP_URL], replyQueue: '' }),
  expectBroker(doc, ids, { client }) {
    expect(doc.channels[ids.sum]!.bindings).toEqual({
      amqp: {
        is: 'queue',
        queue: { name: `${prefix}.sum`, durable: false, exclusive: false, autoDelete: true },
        bindingVersion: '0.3.0',
      },
    });
    expect(doc.operations[`${prefix}.sum.receive`]!.bindings).toEqual({
      amqp: { ack: true, bindingVersion: '0.3.0' },
    });
    expect(doc.operations[`${prefix}.sum.send`]!.bindings).toMatchObject({ amqp: { mandatory: true } });
    expect(doc.operations[`${prefix}.sum.receive`]!.reply).toMatchObject({
      address: { location: '$message.header#/replyTo' },
    });
    expect(doc.channels[ids.sum]!.messages.request!.correlationId).toMatchObject({
      location: '$message.header#/correlationId',
    });
    expect(client.replyQueue).toMatch(/^amq\.gen-/);
    expect(doc.channels[ids.clientReplies]!.address).toBe(client.replyQueue);
  },
}));
