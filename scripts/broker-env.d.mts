/** The variables of one set of brokers (see broker-env.mjs). */
export interface BrokerEnv {
  BROKERS_PORT_BASE: string;
  BROKERS_STATE_DIR: string;
  BROKERS_HOST: string;
  NATS_PORT: string;
  AMQP_PORT: string;
  RABBIT_DIST_PORT: string;
  RABBIT_NODENAME: string;
  KAFKA_PORT: string;
  KAFKA_CONTROLLER_PORT: string;
  NATS_URL: string;
  AMQP_URL: string;
  KAFKA_BROKERS: string;
  NATS_TLS_PORT: string;
  AMQPS_PORT: string;
  KAFKA_SASL_SSL_PORT: string;
  NATS_TLS_URL: string;
}
export const ROOT: string;
export const HOST: string;
export const TEST_PORT_BASE: number;
export function brokerEnv(options?: { portBase?: number | string; stateDir?: string }): BrokerEnv;
export function testBrokerEnv(): BrokerEnv;
export interface ClusterEnv {
  base: number;
  host: string;
  stateDir: string;
  nats: { name: string; port: number; routePort: number; monitorPort: number; gid: number; url: string }[];
  rabbitmq: { name: string; nodename: string; port: number; distPort: number; gid: number; url: string }[];
  kafka: {
    name: string;
    nodeId: number;
    port: number;
    controllerPort: number;
    gid: number;
    broker: string;
  }[];
}
export function clusterEnv(options?: { portBase?: number | string; stateDir?: string }): ClusterEnv;
