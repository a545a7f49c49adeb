import { connectionRefused, tlsVerificationCode } from '../core/connection-refusal.js';
import type { RpcConnectionError } from '../core/errors.js';
import type { KafkaDriver } from './driver/kafka-driver.js';
import type { KafkaConnectionOptions } from './kafka-rpc.options.js';

/**
 * The `RpcConnectionError` of a connect the broker refused (the SASL login) or whose TLS handshake
 * refused the broker's certificate; `undefined` for any other failure.
 */
export function kafkaRefusal(
  driver: KafkaDriver,
  err: unknown,
  options: KafkaConnectionOptions,
): RpcConnectionError | undefined {
  const secrets = [options.sasl?.password, ...tlsSecrets(options.ssl)];
  if (driver.errorKind(err) === 'authentication') {
    const what = options.sasl
      ? `SASL ${options.sasl.mechanism.toUpperCase()} user "${options.sasl.username}"`
      : 'SASL';
    return connectionRefused({ broker: 'Kafka', refused: 'authentication', what, cause: err, secrets });
  }
  const code = tlsVerificationCode(err);
  if (code) return connectionRefused({ broker: 'Kafka', refused: 'tls', what: code, cause: err, secrets });
  return undefined;
}

/** The private key and its passphrase among the TLS options, as text. */
function tlsSecrets(ssl: KafkaConnectionOptions['ssl']): string[] {
  if (typeof ssl !== 'object') return [];
  const secrets: string[] = [];
  for (const value of [ssl.passphrase, ...[ssl.key].flat()]) {
    if (typeof value === 'string') secrets.push(value);
    else if (Buffer.isBuffer(value)) secrets.push(value.toString('utf8'));
  }
  return secrets;
}
