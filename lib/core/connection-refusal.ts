import { type ConnectionRefusal, RpcConnectionError } from './errors.js';

/**
 * The codes Node's TLS layer gives a connection whose server certificate it does not accept (an
 * unknown or self-signed CA, an expired certificate, another host's certificate).
 */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** How deep a cause chain is followed (a chain is short; a cycle must not loop). */
const MAX_CAUSE_DEPTH = 5;
/** What stands in for a secret found in a message or stack. */
const REDACTED = '[redacted]';

/** The TLS verification code of an error or of one of its causes, if the handshake refused the server's certificate. */
export function tlsVerificationCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < MAX_CAUSE_DEPTH; e = (e as Error).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) return code;
  }
  return undefined;
}

export interface RefusalDetails {
  /** The broker, as the message names it: `NATS`, `RabbitMQ`, `Kafka`. */
  broker: string;
  refused: ConnectionRefusal;
  /** What was presented or refused, without a secret: `user "rpc-user"`, `an nkey`, the TLS code. */
  what: string;
  /** The client library's error. It is kept as the cause only as a copy with every secret redacted. */
  cause: unknown;
  /** The passwords, tokens, seeds and keys the connection was given; none of them may appear in the error. */
  secrets: readonly (string | undefined)[];
}

/**
 * The `RpcConnectionError` of a connect that the broker or the TLS handshake refused: its message says
 * what was refused, and neither it nor its cause (a redacted copy of the client's error) holds a secret.
 */
export function connectionRefused(details: RefusalDetails): RpcConnectionError {
  const secrets = details.secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  const cause = redactedCopy(details.cause, secrets, 0);
  const reason = redact(cause instanceof Error ? cause.message : String(cause), secrets);
  const message =
    details.refused === 'authentication'
      ? `${details.broker} refused the credentials (${details.what}): ${reason}`
      : `${details.broker}: the TLS handshake refused the server's certificate (${details.what}): ${reason}`;
  return new RpcConnectionError(redact(message, secrets), { cause, refused: details.refused });
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}

/** A copy of an error (name, message, code, stack, cause) with every secret redacted; other fields are left out. */
function redactedCopy(err: unknown, secrets: readonly string[], depth: number): unknown {
  if (!(err instanceof Error)) return err === undefined ? undefined : redact(String(err), secrets);
  const copy = new Error(redact(err.message, secrets));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : redact(err.stack, secrets);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number')
    (copy as Error & { code?: unknown }).code = typeof code === 'string' ? redact(code, secrets) : code;
  if (err.cause !== undefined && depth + 1 < MAX_CAUSE_DEPTH)
    copy.cause = redactedCopy(err.cause, secrets, depth + 1);
  return copy;
}
