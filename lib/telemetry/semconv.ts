/**
 * The OpenTelemetry semantic conventions this package follows: messaging spans and metrics as of
 * semantic conventions v1.30 (messaging: development status), and `error.type` (stable).
 */
export const SEMCONV_VERSION = '1.30.0';

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
export const ATTR_MESSAGING_CONSUMER_GROUP = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_KAFKA_KEY = 'messaging.kafka.message.key';
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_MESSAGING_RABBITMQ_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';
export const ATTR_ERROR_TYPE = 'error.type';

/** `messaging.operation.type` values used here: a request is sent, then processed. */
export const OPERATION_SEND = 'send';
export const OPERATION_PROCESS = 'process';

/** Span event per value of a streamed reply (the span covers the whole stream). */
export const EVENT_STREAM_VALUE = 'rpc.stream.value';

/** Metric names: two semantic-convention histograms, and this package's own gauges and counters. */
export const METRIC_CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration';
export const METRIC_PROCESS_DURATION = 'messaging.process.duration';
export const METRIC_CLIENT_PENDING = 'rpc.client.requests.pending';
export const METRIC_SERVER_RUNNING = 'rpc.server.requests.running';
export const METRIC_SERVER_QUEUED = 'rpc.server.requests.queued';
/** Prefix of the counters of `client.counters` / `server.counters`, one metric per counter. */
export const METRIC_CLIENT_COUNTER_PREFIX = 'rpc.client.';
export const METRIC_SERVER_COUNTER_PREFIX = 'rpc.server.';

/** Histogram bucket bounds in seconds, as the conventions advise for messaging durations. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The instrumentation scope name of tracers and meters. */
export const INSTRUMENTATION_NAME = 'nestjs-broker-rpc';
