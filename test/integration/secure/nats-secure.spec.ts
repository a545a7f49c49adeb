import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { nkeyAuthenticator } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsRpcClient, type NatsRpcClientOptions, NatsRpcServer } from '../../../lib/nats/index.js';
import { type SecureBrokers, testSecureBrokers } from '../brokers.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { captureLogs, expectNoSecret, refusal, sumModule } from './secure-support.js';

const prefix = `s${randomUUID().slice(0, 8)}`;

describe('NATS over TLS with authentication', () => {
  let secure: SecureBrokers;
  let logs: ReturnType<typeof captureLogs>;
  let secrets: string[];
  const wrongPassword = `wrong-${randomUUID()}`;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    secure = await testSecureBrokers('nats');
    logs = captureLogs();
    secrets = [secure.credentials.password, secure.credentials.nkeySeed, wrongPassword];
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  });
  afterAll(() => logs?.restore());

  const trusted = () => ({ caFile: secure.tls.ca });
  const password = (pass = secure.credentials.password): NatsRpcClientOptions => ({
    servers: secure.natsUrl,
    user: secure.credentials.user,
    pass,
    tls: trusted(),
  });
  const nkey = (seed = secure.credentials.nkeySeed): NatsRpcClientOptions => ({
    servers: secure.natsUrl,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
    tls: trusted(),
  });

  async function startServer(options: NatsRpcClientOptions) {
    const app: INestMicroservice = await NestFactory.createMicroservice(sumModule(prefix), {
      strategy: new NatsRpcServer(options),
      logger: logs.logger,
    });
    closers.push(() => app.close());
    await app.listen();
    return app;
  }

  function newClient(options: NatsRpcClientOptions) {
    const client = new NatsRpcClient(options);
    closers.push(() => client.close());
    return client;
  }

  it('answers a request with user and password on both sides', async () => {
    await startServer(password());
    const client = newClient(password());

    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 2, 3]))).resolves.toBe(6);
  });

  it('answers a request when the client signs in with an nkey', async () => {
    await startServer(nkey());
    const client = newClient(nkey());

    await expect(firstValueFrom(client.send(`${prefix}.sum`, [4, 5]))).resolves.toBe(9);
  });

  it('refuses a wrong password at the first connect of a client, with no retry and no secret', async () => {
    const proxy = await startTcpProxy(Number(new URL(secure.natsUrl).port));
    closers.push(() => proxy.kill());
    const client = newClient({ ...password(wrongPassword), servers: `tls://127.0.0.1:${proxy.port}` });

    const err = await refusal(client.connect(), 'authentication');

    expect(err.message).toContain('NATS refused the credentials (user "rpc-user")');
    expect(proxy.accepted).toBe(1);
    expectNoSecret(err, logs.lines, secrets);
  });

  it('refuses a wrong password at listen() of a server, with no secret', async () => {
    const err = await refusal(startServer(password(wrongPassword)), 'authentication');

    expect(err.message).toContain('NATS refused the credentials (user "rpc-user")');
    expectNoSecret(err, logs.lines, secrets);
  });

  it('refuses an nkey the server does not know, for a client and a server', async () => {
    const unknownSeed = new TextDecoder().decode(createUser().getSeed());
    expect(fromSeed(new TextEncoder().encode(unknownSeed)).getPublicKey()).not.toBe(
      secure.credentials.nkeyPublic,
    );

    const clientErr = await refusal(newClient(nkey(unknownSeed)).connect(), 'authentication');
    const serverErr = await refusal(startServer(nkey(unknownSeed)), 'authentication');

    for (const err of [clientErr, serverErr]) {
      expect(err.message).toContain('NATS refused the credentials (the authenticator');
      expectNoSecret(err, logs.lines, [...secrets, unknownSeed]);
    }
  });

  it('refuses a server certificate from an untrusted CA, for a client and a server', async () => {
    const untrusted = { ...password(), tls: { caFile: secure.tls.untrustedCa } };

    const clientErr = await refusal(newClient(untrusted).connect(), 'tls');
    const serverErr = await refusal(startServer(untrusted), 'tls');

    for (const err of [clientErr, serverErr]) {
      expect(err.message).toMatch(
        /^NATS: the TLS handshake refused the server's certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
      );
      expectNoSecret(err, logs.lines, secrets);
    }
  });
});
