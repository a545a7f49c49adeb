export { RabbitRpcServer } from './rabbit-rpc.server.js';
export { RabbitRpcClient } from './rabbit-rpc.client.js';
export { RabbitRpcContext } from './rabbit-rpc.context.js';
export { RabbitTopologyError } from './rabbit-topology.js';
export {
  type RabbitRpcServerOptions,
  type RabbitRpcClientOptions,
  type RabbitConnectionOptions,
  type RabbitQueueOptions,
  type RabbitExchangeOptions,
  type RabbitReconnectOptions,
  DIRECT_REPLY_TO,
  DEFAULT_RABBIT_URL,
  DEFAULT_RABBIT_PREFETCH,
  DEFAULT_RABBIT_MAX_MESSAGE_SIZE,
  DEFAULT_RABBIT_RECONNECT,
} from './rabbit-rpc.options.js';
