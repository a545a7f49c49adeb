// Where the integration tests find their brokers: the test suite's own set (scripts/broker-env.mjs),
// started by test/global-setup.ts on ports of its own, so brokers a user runs on the standard ports
// are neither used nor disturbed. The tests fail, rather than skip, when a broker is not there.
import { type BrokerEnv, testBrokerEnv } from '../../scripts/broker-env.mjs';
import { type SecureBroker, type SecureBrokers, secureBrokersUp } from '../../scripts/secure-brokers.mjs';

export type { SecureBrokers };

export const TEST_BROKERS: BrokerEnv = testBrokerEnv();
export const NATS_URL = TEST_BROKERS.NATS_URL;
export const AMQP_URL = TEST_BROKERS.AMQP_URL;
export const KAFKA_BROKERS = TEST_BROKERS.KAFKA_BROKERS.split(',');

/** The environment for scripts/brokers.sh (and the RabbitMQ CLI) to act on the test suite's set. */
export function testBrokersProcessEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...TEST_BROKERS, BROKERS_REQUIRE_OWN: '1' };
}

/**
 * The test set's secure listeners (TLS, credentials that are not the default), brought up by
 * scripts/secure-brokers.mjs on first use: certificates and credentials once per state folder, then
 * only what does not answer yet. Their plain brokers must be up (the global setup).
 */
export function testSecureBrokers(...brokers: SecureBroker[]): Promise<SecureBrokers> {
  return secureBrokersUp({ brokers, env: TEST_BROKERS });
}
