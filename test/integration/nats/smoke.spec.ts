import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_URL } from '../brokers.js';

describe('NATS broker smoke test', () => {
  let nc: NatsConnection;
  let sub: Subscription | undefined;

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL, name: 'smoke-test', timeout: 5_000, reconnect: false });
  });

  afterAll(async () => {
    sub?.unsubscribe();
    await nc?.drain();
  });

  it('answers a request through a subscriber', async () => {
    const subject = `smoke.${randomUUID()}`;
    sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) throw err;
        msg.respond(`pong:${msg.string()}`);
      },
    });
    // The subscription is registered on the server once flush returns.
    await nc.flush();

    const reply = await nc.request(subject, 'ping', { timeout: 5_000 });

    expect(reply.string()).toBe('pong:ping');
  });

  it('has JetStream enabled', async () => {
    const reply = await nc.request('$JS.API.INFO', '', { timeout: 5_000 });
    const info = reply.json<{ type?: string; error?: unknown }>();

    expect(info.error).toBeUndefined();
    expect(info.type).toBe('io.nats.jetstream.api.v1.account_info_response');
  });
});
