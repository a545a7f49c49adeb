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
export { NatsJetStreamRpcContext } from './jetstream/jetstream-context.js';
export {
  type JetStreamServerOptions,
  type JetStreamClientOptions,
  DEFAULT_JETSTREAM_STREAM,
  DEFAULT_JETSTREAM_CONSUMER_PREFIX,
  DEFAULT_JETSTREAM_ACK_WAIT,
  DEFAULT_JETSTREAM_MAX_DELIVER,
  DEFAULT_JETSTREAM_RETRY_DELAY,
  DEFAULT_JETSTREAM_DEAD_LETTER_SUBJECT,
  DEFAULT_JETSTREAM_DEAD_LETTER_STREAM,
  DEFAULT_JETSTREAM_PUBLISH_TIMEOUT,
} from './jetstream/jetstream-options.js';
export { DeadLetterHeaders, type DeadLetterReason } from './jetstream/jetstream-delivery.js';
export { JetStreamTopologyError } from './jetstream/jetstream-topology.js';
