import type { BrokerEnv } from './broker-env.mjs';

/** The files of the set's certificates (PEM). */
export interface SecureTlsFiles {
  /** the CA that signed the servers' certificate */
  ca: string;
  cert: string;
  key: string;
  /** a CA that signed nothing here: trusting only it must fail the handshake */
  untrustedCa: string;
}
/** The set's credentials (credentials.json). */
export interface SecureCredentials {
  user: string;
  password: string;
  nkeySeed: string;
  nkeyPublic: string;
  vhost: string;
}
export type SecureBroker = 'nats' | 'rabbitmq' | 'kafka';
export interface SecureBrokers {
  tls: SecureTlsFiles;
  credentials: SecureCredentials;
  natsUrl: string;
  /** without credentials: pass them with the vhost */
  amqpsUrl: string;
  kafkaBrokers: string[];
}
export const SECURE_USER: string;
export function secureBrokersUp(options?: {
  brokers?: SecureBroker[];
  env?: BrokerEnv;
  timeoutMs?: number;
}): Promise<SecureBrokers>;
export function secureBrokersDown(options?: { env?: BrokerEnv }): { nats: number | undefined };
