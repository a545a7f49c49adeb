export * from './core/errors.js';
export * from './core/codec.js';
export * from './core/record-builder.js';
export * from './core/options.js';
export * from './core/patterns.js';
export * from './core/status.js';
export {
  Headers as WireHeaders,
  WIRE_VERSION,
  type HeaderMap,
  type InboundMessage,
  type OutboundMessage,
  type InboundReply,
} from './core/wire.js';
export { RpcContext } from './core/rpc-context.js';
export {
  DEFAULT_TELEMETRY,
  type TelemetryOptions,
  type TelemetryAttributes,
  type TelemetryAttributeValue,
} from './telemetry/telemetry-options.js';
export { SEMCONV_VERSION } from './telemetry/semconv.js';
export { RpcClient, type OutboundRequest, type ActiveRequest } from './core/rpc-client.js';
export { RpcServer, type Route, type DispatchOutcome } from './core/rpc-server.js';
export { monotonicNow } from './core/clock.js';
export { stampDeadline, deadlineOf } from './core/deadline.js';
export { PendingReplies, type PendingRequest } from './core/pending-replies.js';
export { ConcurrencyLimit } from './core/concurrency-limit.js';
export { streamReplies, type ReplyFrame } from './core/reply-stream.js';
export {
  RpcCounters,
  CLIENT_COUNTERS,
  SERVER_COUNTERS,
  type ClientCounter,
  type ServerCounter,
} from './core/counters.js';
export {
  type ReplyToOptions,
  type ReplyAddressPattern,
  type ReplyAddressPredicate,
  type ReplyAddressRequest,
  type ReplyMode,
} from './core/reply-policy.js';
export * from './asyncapi/index.js';
