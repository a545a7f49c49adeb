export { KafkaRpcServer, type KafkaServerHandles } from './kafka-rpc.server.js';
export { KafkaRpcClient, type KafkaClientHandles } from './kafka-rpc.client.js';
export { KafkaRpcContext } from './kafka-rpc.context.js';
export { NestKafkaHeaders } from './kafka-headers.js';
export type { KafkaRecord } from './driver/kafka-driver.js';
export {
  type KafkaRpcServerOptions,
  type KafkaRpcClientOptions,
  type KafkaConnectionOptions,
  type KafkaTopicOptions,
  type KafkaProducerOptions,
  type KafkaConsumerTuning,
  type KafkaDriverName,
  DEFAULT_KAFKA_DRIVER,
  DEFAULT_KAFKA_CLIENT_ID,
  DEFAULT_KAFKA_REPLY_SUFFIX,
  DEFAULT_KAFKA_REQUEST_PARTITIONS,
  DEFAULT_KAFKA_REPLY_PARTITIONS,
  DEFAULT_KAFKA_SESSION_TIMEOUT,
  DEFAULT_KAFKA_IN_FLIGHT_FACTOR,
  DEFAULT_KAFKA_HEARTBEAT_INTERVAL,
  DEFAULT_KAFKA_SERVER_MAX_WAIT,
  DEFAULT_KAFKA_CLIENT_MAX_WAIT,
  DEFAULT_KAFKA_MAX_BYTES_PER_PARTITION,
  DEFAULT_KAFKA_JOIN_TIMEOUT,
  DEFAULT_KAFKA_RETRY,
} from './kafka-rpc.options.js';
export { KAFKA_DEFAULT_MAX_MESSAGE_BYTES } from './kafka-publish.js';
