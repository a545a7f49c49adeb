import type { Options } from 'amqplib';
import { connectionRefused, tlsVerificationCode } from '../core/connection-refusal.js';
import type { RpcConnectionError } from '../core/errors.js';
import type { RabbitConnectionOptions } from './rabbit-rpc.options.js';

/** What amqplib says when the broker refuses the login (the AMQP 403 of the connection handshake). */
const ACCESS_REFUSED = /\bACCESS[-_]REFUSED\b/;

/**
 * The `RpcConnectionError` of a connect RabbitMQ refused (the login) or whose TLS handshake refused
 * the server's certificate; `undefined` for any other failure.
 */
export function rabbitRefusal(
  err: unknown,
  options: RabbitConnectionOptions,
): RpcConnectionError | undefined {
  const secrets = secretsOf(options);
  if (err instanceof Error && ACCESS_REFUSED.test(err.message)) {
    return connectionRefused({
      broker: 'RabbitMQ',
      refused: 'authentication',
      what: presented(options),
      cause: err,
      secrets,
    });
  }
  const code = tlsVerificationCode(err);
  if (code) return connectionRefused({ broker: 'RabbitMQ', refused: 'tls', what: code, cause: err, secrets });
  return undefined;
}

/** The user of the first URL (or of `socketOptions.credentials`), without its password. */
function presented(options: RabbitConnectionOptions): string {
  const credentials = options.socketOptions?.credentials as { username?: string } | undefined;
  const user = credentials?.username ?? userOf(options.urls?.[0]);
  return user ? `user "${user}"` : 'the default user';
}

function userOf(url: string | Options.Connect | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (typeof url !== 'string') return url.username;
  try {
    return decodeURIComponent(new URL(url).username) || undefined;
  } catch {
    return undefined;
  }
}

/** Every password and key the options hold, as given and as the URL encodes them. */
function secretsOf(options: RabbitConnectionOptions): string[] {
  const secrets: string[] = [];
  for (const url of options.urls ?? []) {
    if (typeof url !== 'string') {
      if (url.password) secrets.push(url.password);
      continue;
    }
    try {
      const password = new URL(url).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      // an invalid URL fails elsewhere; it holds no secret we could pick out
    }
  }
  const socket = (options.socketOptions ?? {}) as Record<string, unknown>;
  const credentials = socket.credentials as { password?: unknown } | undefined;
  for (const value of [credentials?.password, socket.passphrase, socket.key]) {
    if (typeof value === 'string') secrets.push(value);
    else if (Buffer.isBuffer(value)) secrets.push(value.toString('utf8'));
  }
  return secrets;
}
