import { headerDocs, REPLY_FRAME_HEADERS } from '../asyncapi/wire-headers.js';
import type { AsyncApiReplyChannel, AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { Headers } from '../core/wire.js';

/**
 * The in-memory transport for the AsyncAPI document: reply address and correlation id are fields
 * of a `MemoryMessage`, named as headers (AsyncAPI's runtime expressions reach only headers and payload).
 */
export function memoryAsyncApiTransport(
  description: string,
  replyChannel: AsyncApiReplyChannel,
  queueOf: (extras: Record<string, unknown>) => string | undefined = () => undefined,
): AsyncApiTransport {
  return {
    protocol: 'memory',
    description: queueOf({}) === undefined ? description : `${description}, queue group "${queueOf({})}"`,
    replyAddress: {
      location: '$message.header#/replyTo',
      description: "The `replyTo` field of the `MemoryMessage`: the caller's inbox.",
    },
    correlationId: {
      location: '$message.header#/correlationId',
      description: 'The `correlationId` field of the `MemoryMessage`, copied back onto every reply.',
    },
    requestHeaders: headerDocs(Headers.deadline, Headers.replyMode),
    replyHeaders: headerDocs(...REPLY_FRAME_HEADERS, Headers.cancelTo),
    eventHeaders: {},
    replyChannel,
    channelBindings: () => undefined,
    operationBindings: () => undefined,
  };
}
