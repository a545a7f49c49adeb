export {
  MemoryBroker,
  type MemoryBrokerOptions,
  type MemoryMessage,
  type MemorySubscription,
  type MemorySubscribeOptions,
  DEFAULT_MEMORY_MAX_PAYLOAD,
} from './memory-broker.js';
export { MemoryRpcServer } from './memory-rpc.server.js';
export { MemoryRpcClient } from './memory-rpc.client.js';
export { MemoryRpcContext } from './memory-rpc.context.js';
export {
  type MemoryRpcServerOptions,
  type MemoryRpcClientOptions,
  DEFAULT_MEMORY_QUEUE,
} from './memory-rpc.options.js';
export {
  startMemoryMicroservice,
  DEFAULT_MEMORY_MICROSERVICE_LOGGER,
  type MemoryMicroservice,
  type MemoryMicroserviceOptions,
  type TestingModuleLike,
} from './memory-microservice.js';
