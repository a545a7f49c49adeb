import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connectionRefused, tlsVerificationCode } from '../../../lib/core/connection-refusal.js';
import { RpcConnectionError, RpcError } from '../../../lib/core/errors.js';

describe('connectionRefused', () => {
  const secret = 'hunter2-secret-value';

  it('says what was refused, and redacts every secret from the message, the stack and the cause chain', () => {
    const inner = Object.assign(new Error(`socket said ${secret}`), { code: 'EPIPE' });
    const cause = new Error(`login with password ${secret} failed`, { cause: inner });
    cause.stack = `Error: login with password ${secret} failed\n    at somewhere (${secret}.js:1:1)`;

    const err = connectionRefused({
      broker: 'Kafka',
      refused: 'authentication',
      what: 'SCRAM-SHA-512 user "rpc-user"',
      cause,
      secrets: [secret, undefined, ''],
    });

    expect(err).toBeInstanceOf(RpcConnectionError);
    expect(RpcError.is(err, 'RPC_CONNECTION')).toBe(true);
    expect(err.refused).toBe('authentication');
    expect(err.message).toBe(
      'Kafka refused the credentials (SCRAM-SHA-512 user "rpc-user"): login with password [redacted] failed',
    );
    const shown = inspect(err, { depth: 10, showHidden: true });
    expect(shown).not.toContain(secret);
    expect(shown).toContain('EPIPE');
    expect((err.cause as Error).cause).toBeInstanceOf(Error);
  });

  it('names the TLS verification code of a refused certificate', () => {
    const cause = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });

    const err = connectionRefused({
      broker: 'RabbitMQ',
      refused: 'tls',
      what: tlsVerificationCode(cause)!,
      cause,
      secrets: [],
    });

    expect(err.refused).toBe('tls');
    expect(err.message).toBe(
      "RabbitMQ: the TLS handshake refused the server's certificate (SELF_SIGNED_CERT_IN_CHAIN): self-signed certificate in certificate chain",
    );
  });
});

describe('tlsVerificationCode', () => {
  it('finds the code on an error or its cause, and nothing on other errors', () => {
    const tls = Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });

    expect(tlsVerificationCode(tls)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(tlsVerificationCode(new Error('wrapped', { cause: tls }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(
      tlsVerificationCode(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(tlsVerificationCode('text')).toBeUndefined();
  });
});
