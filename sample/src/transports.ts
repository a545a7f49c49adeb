import type { ClientProvider, CustomTransportStrategy } from '@nestjs/microservices';
import { brokerEnv } from '../../scripts/broker-env.mjs';

export const TRANSPORT_NAMES = ['memory', 'nats', 'rabbitmq', 'kafka'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

/** A broker that `scripts/brokers.sh` runs, and where it listens. */
export interface BrokerAddress {
  name: Exclude<TransportName, 'memory'>;
  host: string;
  port: number;
}

/** One way to carry the worker's messages: the worker's server strategy and the gateway's client registration. */
export interface Transport {
  name: TransportName;
  /** Where the messages go, in a few words. */
  via: string;
  /** The broker this transport needs; the in-memory one needs none. */
  broker?: BrokerAddress;
  server(): Promise<CustomTransportStrategy>;
  client(): Promise<ClientProvider>;
}

/** The worker's queue group / consumer group: every worker instance joins it, and each request goes to one. */
const GROUP = 'math-worker';
/** The gateway waits at most this long for each reply, unless a call says otherwise. */
const TIMEOUT_MS = 5_000;

// The brokers on their standard loopback ports (another set with BROKERS_PORT_BASE, as scripts/brokers.sh).
// In your app: your brokers' addresses.
const BROKERS = brokerEnv();
const NATS_URL = BROKERS.NATS_URL;
const AMQP_URL = BROKERS.AMQP_URL;
const KAFKA_BROKERS = BROKERS.KAFKA_BROKERS.split(',');
const HOST = BROKERS.BROKERS_HOST;

// Each entry imports its adapter when used, so a run loads only its own broker client.
export const TRANSPORTS: Record<TransportName, Transport> = {
  memory: {
    name: 'memory',
    via: 'an in-memory broker inside this process',
    async server() {
      const { MemoryRpcServer } = await import('../../lib/testing/index.js');
      return new MemoryRpcServer({ queue: GROUP });
    },
    async client() {
      const { MemoryRpcClient } = await import('../../lib/testing/index.js');
      return { customClass: MemoryRpcClient, options: { timeout: TIMEOUT_MS } };
    },
  },
  nats: {
    name: 'nats',
    via: NATS_URL,
    broker: { name: 'nats', host: HOST, port: Number(BROKERS.NATS_PORT) },
    async server() {
      const { NatsRpcServer } = await import('../../lib/nats/index.js');
      return new NatsRpcServer({ servers: NATS_URL, queue: GROUP });
    },
    async client() {
      const { NatsRpcClient } = await import('../../lib/nats/index.js');
      return { customClass: NatsRpcClient, options: { servers: NATS_URL, timeout: TIMEOUT_MS } };
    },
  },
  rabbitmq: {
    name: 'rabbitmq',
    via: AMQP_URL.replace(/\/\/[^@]*@/, '//'),
    broker: { name: 'rabbitmq', host: HOST, port: Number(BROKERS.AMQP_PORT) },
    async server() {
      const { RabbitRpcServer } = await import('../../lib/rabbitmq/index.js');
      return new RabbitRpcServer({ urls: [AMQP_URL] });
    },
    async client() {
      const { RabbitRpcClient } = await import('../../lib/rabbitmq/index.js');
      return { customClass: RabbitRpcClient, options: { urls: [AMQP_URL], timeout: TIMEOUT_MS } };
    },
  },
  kafka: {
    name: 'kafka',
    via: `kafka://${KAFKA_BROKERS[0]}`,
    broker: { name: 'kafka', host: HOST, port: Number(BROKERS.KAFKA_PORT) },
    async server() {
      const { KafkaRpcServer } = await import('../../lib/kafka/index.js');
      return new KafkaRpcServer({ client: { brokers: KAFKA_BROKERS, clientId: GROUP } });
    },
    async client() {
      const { KafkaRpcClient } = await import('../../lib/kafka/index.js');
      return {
        customClass: KafkaRpcClient,
        options: { client: { brokers: KAFKA_BROKERS, clientId: 'math-gateway' }, timeout: TIMEOUT_MS },
      };
    },
  },
};

export function isTransportName(value: string): value is TransportName {
  return (TRANSPORT_NAMES as readonly string[]).includes(value);
}

/** The transport named on a command line, for the worker and gateway run as two processes (a broker between them). */
export function brokerTransport(arg = 'nats'): Transport {
  if (!isTransportName(arg) || arg === 'memory') {
    throw new Error(
      `expected nats, rabbitmq or kafka, got "${arg}" (the memory transport runs in one process: npm run demo)`,
    );
  }
  return TRANSPORTS[arg];
}
