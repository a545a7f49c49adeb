import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  RabbitRpcClient,
  type RabbitRpcClientOptions,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { type SecureBrokers, testSecureBrokers } from '../brokers.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { captureLogs, expectNoSecret, refusal, sumModule } from './secure-support.js';

const prefix = `s${randomUUID().slice(0, 8)}`;

describe('RabbitMQ over TLS (AMQPS) with a user of its own vhost', () => {
  let secure: SecureBrokers;
  let logs: ReturnType<typeof captureLogs>;
  let secrets: string[];
  const wrongPassword = `wrong-${randomUUID()}`;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    secure = await testSecureBrokers('rabbitmq');
    logs = captureLogs();
    secrets = [secure.credentials.password, wrongPassword];
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  });
  afterAll(() => logs?.restore());

  const url = (password: string, port = new URL(secure.amqpsUrl).port) =>
    `amqps://${secure.credentials.user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${secure.credentials.vhost}`;
  const options = (
    password = secure.credentials.password,
    ca = secure.tls.ca,
  ): RabbitRpcServerOptions & RabbitRpcClientOptions => ({
    urls: [url(password)],
    socketOptions: { ca: [readFileSync(ca)] },
  });

  async function startServer(serverOptions: RabbitRpcServerOptions) {
    const app: INestMicroservice = await NestFactory.createMicroservice(sumModule(prefix), {
      strategy: new RabbitRpcServer(serverOptions),
      logger: logs.logger,
    });
    closers.push(() => app.close());
    await app.listen();
    return app;
  }

  function newClient(clientOptions: RabbitRpcClientOptions) {
    const client = new RabbitRpcClient(clientOptions);
    closers.push(() => client.close());
    return client;
  }

  it('answers a request on its vhost, over AMQPS', async () => {
    await startServer(options());
    const client = newClient(options());

    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 2, 3]))).resolves.toBe(6);
  });

  it('refuses a wrong password at the first connect of a client, without the retries asked for, and no secret', async () => {
    const proxy = await startTcpProxy(Number(new URL(secure.amqpsUrl).port));
    closers.push(() => proxy.kill());
    const client = newClient({
      ...options(),
      urls: [url(wrongPassword, String(proxy.port))],
      reconnect: { initialMaxRetries: 3, initialDelay: 10 },
    });

    const err = await refusal(client.connect(), 'authentication');

    expect(err.message).toContain('RabbitMQ refused the credentials (user "rpc-user"): ');
    expect(err.message).toContain('ACCESS_REFUSED');
    expect(proxy.accepted).toBe(1);
    expectNoSecret(err, logs.lines, secrets);
  });

  it('refuses a wrong password at listen() of a server, also without connection recovery, and no secret', async () => {
    for (const reconnect of [undefined, false] as const) {
      const err = await refusal(startServer({ ...options(wrongPassword), reconnect }), 'authentication');

      expect(err.message).toContain('RabbitMQ refused the credentials (user "rpc-user")');
      expectNoSecret(err, logs.lines, secrets);
    }
  });

  it('refuses a server certificate from an untrusted CA, for a client and a server', async () => {
    const untrusted = options(secure.credentials.password, secure.tls.untrustedCa);

    const clientErr = await refusal(newClient(untrusted).connect(), 'tls');
    const serverErr = await refusal(startServer(untrusted), 'tls');

    for (const err of [clientErr, serverErr]) {
      expect(err.message).toMatch(
        /^RabbitMQ: the TLS handshake refused the server's certificate \(SELF_SIGNED_CERT_IN_CHAIN\)/,
      );
      expectNoSecret(err, logs.lines, secrets);
    }
  });
});
