import { Headers } from '../core/wire.js';
import type {
  AsyncApiBindings,
  AsyncApiDestination,
  AsyncApiHeaders,
  AsyncApiReplyChannel,
  AsyncApiTransport,
} from './asyncapi-transport.js';
import { headerDocs, REPLY_FRAME_HEADERS } from './wire-headers.js';

export interface HeaderTransportParts {
  protocol: string;
  description: string;
  replyChannel: AsyncApiReplyChannel;
  /** What the `reply_to` header holds on this broker (topic, subject). */
  replyToMeans: string;
  /** Headers besides the wire protocol's. */
  requestHeaders?: AsyncApiHeaders;
  replyHeaders?: AsyncApiHeaders;
  eventHeaders?: AsyncApiHeaders;
  channelBindings?: (destination: AsyncApiDestination) => AsyncApiBindings | undefined;
  operationBindings?: (destination: AsyncApiDestination) => AsyncApiBindings | undefined;
}

/**
 * A broker without reply or correlation fields (Kafka, NATS JetStream, and the default for any other
 * adapter): both ride in the `reply_to` and `correlation_id` headers, as FastStream names them.
 */
export function headerTransport(parts: HeaderTransportParts): AsyncApiTransport {
  return {
    protocol: parts.protocol,
    description: parts.description,
    replyAddress: {
      location: `$message.header#/${Headers.replyTo}`,
      description: `The \`${Headers.replyTo}\` header: ${parts.replyToMeans}.`,
    },
    correlationId: {
      location: `$message.header#/${Headers.correlationId}`,
      description: `The \`${Headers.correlationId}\` header, copied back verbatim onto every reply.`,
    },
    requestHeaders: {
      ...headerDocs(
        Headers.contentType,
        Headers.correlationId,
        Headers.replyTo,
        Headers.deadline,
        Headers.replyMode,
      ),
      ...parts.requestHeaders,
    },
    replyHeaders: {
      ...headerDocs(Headers.contentType, Headers.correlationId, ...REPLY_FRAME_HEADERS),
      ...parts.replyHeaders,
    },
    eventHeaders: { ...headerDocs(Headers.contentType), ...parts.eventHeaders },
    replyChannel: parts.replyChannel,
    channelBindings: parts.channelBindings ?? (() => undefined),
    operationBindings: parts.operationBindings ?? (() => undefined),
  };
}
