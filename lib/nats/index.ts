export { NatsRpcServer } from './nats-rpc.server.js';
export { NatsRpcClient } from './nats-rpc.client.js';
export { NatsRpcContext } from './nats-rpc.context.js';
export {
  type NatsRpcServerOptions,
  type NatsRpcClientOptions,
  type NatsConnectionOptions,
  DEFAULT_NATS_QUEUE,
  DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS,
} from './nats-rpc.options.js';
