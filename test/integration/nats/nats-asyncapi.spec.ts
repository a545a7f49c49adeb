// The AsyncAPI document of an app on a real NATS server.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { asyncApiConformance } from '../support/asyncapi.js';

const prefix = `asyncapi-${randomUUID().slice(0, 8)}`;

asyncApiConformance('NATS', () => ({
  prefix,
  server: () => new NatsRpcServer({ servers: NATS_URL, queue: `${prefix}-workers` }),
  client: () => new NatsRpcClient({ servers: NATS_URL }),
  expectBroker(doc, ids) {
    expect(doc.operations[`${prefix}.sum.receive`]!.bindings).toEqual({
      nats: { queue: `${prefix}-workers`, bindingVersion: '0.1.0' },
    });
    // core NATS: the reply subject is a protocol field and the correlation id its last token
    expect(doc.operations[`${prefix}.sum.receive`]!.reply).not.toHaveProperty('address');
    expect(doc.channels[ids.sum]!.messages.request).not.toHaveProperty('correlationId');
    // the connected client's one wildcard inbox
    expect(doc.channels[ids.clientReplies]!.address).toMatch(/^_INBOX\.[A-Za-z0-9]+\.\*$/);
  },
}));
