import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaRpcClient, type KafkaConnectionOptions, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { type SecureBrokers, testSecureBrokers } from '../brokers.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { captureLogs, expectNoSecret, refusal, sumModule } from './secure-support.js';

const prefix = `s${randomUUID().slice(0, 8)}`;

describe('Kafka over SASL_SSL with SCRAM-SHA-512', () => {
  let secure: SecureBrokers;
  let logs: ReturnType<typeof captureLogs>;
  let secrets: string[];
  const wrongPassword = `wrong-${randomUUID()}`;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    secure = await testSecureBrokers('kafka');
    logs = captureLogs();
    secrets = [secure.credentials.password, wrongPassword];
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  });
  afterAll(() => logs?.restore());

  const connection = (
    clientId: string,
    password = secure.credentials.password,
    ca = secure.tls.ca,
  ): KafkaConnectionOptions => ({
    brokers: secure.kafkaBrokers,
    clientId: `${prefix}-${clientId}`,
    ssl: { ca: [readFileSync(ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: secure.credentials.user, password },
  });

  async function startServer(client: KafkaConnectionOptions) {
    const app: INestMicroservice = await NestFactory.createMicroservice(sumModule(prefix), {
      strategy: new KafkaRpcServer({ client, consumer: { sessionTimeout: 6_000, heartbeatInterval: 500 } }),
      logger: logs.logger,
    });
    closers.push(() => app.close());
    await app.listen();
    return app;
  }

  function newClient(client: KafkaConnectionOptions) {
    const rpc = new KafkaRpcClient({ client, timeout: 20_000 });
    closers.push(() => rpc.close());
    return rpc;
  }

  it('answers a request over TLS with a SCRAM-SHA-512 login', async () => {
    await startServer(connection('worker'));
    const client = newClient(connection('gateway'));

    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 2, 3]))).resolves.toBe(6);
  });

  it('refuses a wrong password after a successful login in the same process, on one attempt, with no secret', async () => {
    const good = newClient(connection('good'));
    await good.connect();
    const proxy = await startTcpProxy(Number(secure.kafkaBrokers[0]!.split(':')[1]));
    closers.push(() => proxy.kill());
    const client = newClient({
      ...connection('bad', wrongPassword),
      brokers: [`127.0.0.1:${proxy.port}`],
    });

    const err = await refusal(client.connect(), 'authentication');

    expect(err.message).toContain('Kafka refused the credentials (SASL SCRAM-SHA-512 user "rpc-user")');
    expect(proxy.accepted).toBe(1);
    expectNoSecret(err, logs.lines, secrets);
  });

  it('refuses a wrong password at listen() of a server, after a successful login, with no secret', async () => {
    await newClient(connection('good-too')).connect();

    const err = await refusal(startServer(connection('bad-worker', wrongPassword)), 'authentication');

    expect(err.message).toContain('Kafka refused the credentials (SASL SCRAM-SHA-512 user "rpc-user")');
    expectNoSecret(err, logs.lines, secrets);
  });

  it('refuses a broker certificate from an untrusted CA at once (kafkajs would retry it), for a client and a server', async () => {
    const proxy = await startTcpProxy(Number(secure.kafkaBrokers[0]!.split(':')[1]));
    closers.push(() => proxy.kill());
    const untrusted = (id: string) => ({
      ...connection(id, secure.credentials.password, secure.tls.untrustedCa),
      brokers: [`127.0.0.1:${proxy.port}`],
    });

    const clientErr = await refusal(newClient(untrusted('tls-gw')).connect(), 'tls');
    expect(proxy.accepted).toBe(1);
    const serverErr = await refusal(startServer(untrusted('tls-worker')), 'tls');
    expect(proxy.accepted).toBe(2);

    for (const err of [clientErr, serverErr]) {
      expect(err.message).toMatch(
        /^Kafka: the TLS handshake refused the server's certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
      );
      expectNoSecret(err, logs.lines, secrets);
    }
  });
});
