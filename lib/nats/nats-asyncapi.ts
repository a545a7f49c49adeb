import type { AsyncApiDestination, AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { headerTransport } from '../asyncapi/header-transport.js';
import { headerDocs, REPLY_FRAME_HEADERS } from '../asyncapi/wire-headers.js';
import { Headers } from '../core/wire.js';

/** The NATS bindings version the document follows. */
const NATS_BINDING_VERSION = '0.1.0';

export interface NatsServerAsyncApi {
  /** A handler's queue group (none: every server instance gets every message). */
  queueOf(destination: AsyncApiDestination): string | undefined;
  /** JetStream mode: the stream and the durable consumers' name prefix. */
  jetstream?: { stream: string; consumerPrefix: string };
}

/** Where requests and replies travel on NATS, for the AsyncAPI document (docs/wire-protocol.md, *NATS*). */
export function natsServerAsyncApi(server: NatsServerAsyncApi): AsyncApiTransport {
  const js = server.jetstream;
  if (js) {
    return headerTransport({
      protocol: 'nats',
      description: `NatsRpcServer in JetStream mode: stream "${js.stream}", one durable pull consumer per handler (\`${js.consumerPrefix}_<subject>\`)`,
      replyToMeans: "the caller's reply subject (JetStream keeps no reply subject)",
      replyChannel: { address: null, description: "The request's `reply_to` subject (a core publish)." },
      replyHeaders: headerDocs(Headers.cancelTo),
      operationBindings: () => ({ nats: { bindingVersion: NATS_BINDING_VERSION } }),
    });
  }
  return coreNats({
    description: 'NatsRpcServer',
    replyChannel: {
      address: null,
      description: "The request's NATS reply subject: `<inboxPrefix>.<client nuid>.<correlation id>`.",
    },
    operationBindings: (d) => {
      const queue = server.queueOf(d);
      return { nats: { ...(queue ? { queue } : {}), bindingVersion: NATS_BINDING_VERSION } };
    },
  });
}

/** A client's side: its one wildcard inbox; JetStream mode or `protocol: 'nest'` change where the ids ride. */
export function natsClientAsyncApi(inbox: string, mode: 'core' | 'jetstream' | 'nest'): AsyncApiTransport {
  const replyChannel = {
    address: `${inbox}.*`,
    description:
      "This client's inbox: one wildcard subscription, the last token of a reply's subject is its correlation id.",
  };
  if (mode === 'jetstream') {
    return headerTransport({
      protocol: 'nats',
      description:
        'NatsRpcClient in JetStream mode: requests are published to a stream, with its publish ack',
      replyToMeans: `this client's inbox subject \`${inbox}.<correlation id>\``,
      replyChannel,
      replyHeaders: headerDocs(Headers.cancelTo),
    });
  }
  const core = coreNats({
    description: `NatsRpcClient${mode === 'nest' ? ", protocol 'nest'" : ''}`,
    replyChannel,
  });
  if (mode !== 'nest') return core;
  return {
    ...core,
    correlationId: {
      location: '$message.payload#/id',
      description:
        "The `id` of Nest's envelope `{ pattern, data, id }`; replies are `{ id, response, err, isDisposed }`.",
    },
    requestHeaders: headerDocs(Headers.deadline),
    replyHeaders: {},
  };
}

/**
 * Core NATS carries the reply address in the message's reply subject, a protocol field AsyncAPI's
 * runtime expressions cannot reach, and the correlation id is that subject's last token: no
 * `replyAddress` or `correlationId` location, the descriptions say where they are.
 */
function coreNats(
  parts: Pick<AsyncApiTransport, 'description' | 'replyChannel'> & {
    operationBindings?: AsyncApiTransport['operationBindings'];
  },
): AsyncApiTransport {
  return {
    protocol: 'nats',
    description: `${parts.description}. Reply address: the NATS reply subject; correlation id: its last token`,
    requestHeaders: {
      ...headerDocs(Headers.contentType, Headers.deadline, Headers.replyMode),
      [Headers.correlationId]: {
        description: 'Optional (FastStream sends it): copied back onto the replies.',
      },
    },
    replyHeaders: headerDocs(Headers.contentType, ...REPLY_FRAME_HEADERS, Headers.cancelTo),
    eventHeaders: headerDocs(Headers.contentType),
    replyChannel: parts.replyChannel,
    channelBindings: () => undefined,
    operationBindings:
      parts.operationBindings ?? (() => ({ nats: { bindingVersion: NATS_BINDING_VERSION } })),
  };
}
