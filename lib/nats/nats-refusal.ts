import { AuthorizationError, UserAuthenticationExpiredError } from '@nats-io/transport-node';
import { connectionRefused, tlsVerificationCode } from '../core/connection-refusal.js';
import type { RpcConnectionError } from '../core/errors.js';
import type { NatsConnectionOptions } from './nats-rpc.options.js';

/**
 * The `RpcConnectionError` of a connect nats-server refused (credentials) or whose TLS handshake
 * refused the server's certificate; `undefined` for any other failure.
 */
export function natsRefusal(err: unknown, options: NatsConnectionOptions): RpcConnectionError | undefined {
  const secrets = [options.pass, options.token, tlsKeyText(options.tls?.key)];
  if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
    return connectionRefused({
      broker: 'NATS',
      refused: 'authentication',
      what: presented(options),
      cause: err,
      secrets,
    });
  }
  const code = tlsVerificationCode(err);
  if (code) return connectionRefused({ broker: 'NATS', refused: 'tls', what: code, cause: err, secrets });
  return undefined;
}

/** What the client authenticated with, named without the secret itself. */
function presented(options: NatsConnectionOptions): string {
  if (options.user !== undefined) return `user "${options.user}"`;
  if (options.token !== undefined) return 'a token';
  if (options.authenticator !== undefined) return 'the authenticator (nkey, JWT or credentials)';
  return 'no credentials';
}

function tlsKeyText(key: unknown): string | undefined {
  if (typeof key === 'string') return key;
  return Buffer.isBuffer(key) ? key.toString('utf8') : undefined;
}
