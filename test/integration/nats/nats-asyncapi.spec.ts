// The AsyncAPI document of an app on a real NATS server.
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
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

const jsPrefix = `asyncapi-js-${randomUUID().slice(0, 8)}`;
const stream = `ASYNCAPI_${randomUUID().slice(0, 8)}`;
const jetstream = { stream, deadLetterStream: `${stream}_DL`, deadLetterSubject: `${jsPrefix}.dead-letter` };

asyncApiConformance('NATS JetStream', () => ({
  prefix: jsPrefix,
  server: () => new NatsRpcServer({ servers: NATS_URL, jetstream }),
  client: () => new NatsRpcClient({ servers: NATS_URL, jetstream: { stream } }),
  expectBroker(doc, ids) {
    // JetStream keeps no reply subject: both ride in headers
    expect(doc.operations[`${jsPrefix}.sum.receive`]!.reply).toMatchObject({
      address: { location: '$message.header#/reply_to' },
    });
    expect(doc.channels[ids.sum]!.messages.request!.correlationId).toMatchObject({
      location: '$message.header#/correlation_id',
    });
    expect(doc.operations[`${jsPrefix}.sum.receive`]!.description).toContain(`"${stream}"`);
    expect(doc.channels[ids.clientReplies]!.address).toMatch(/^_INBOX\.[A-Za-z0-9]+\.\*$/);
  },
  async cleanup() {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for (const name of [stream, jetstream.deadLetterStream])
      await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  },
}));
