import type {
  AsyncApiBindings,
  AsyncApiDestination,
  AsyncApiTransport,
} from '../asyncapi/asyncapi-transport.js';
import { headerDocs, REPLY_FRAME_HEADERS } from '../asyncapi/wire-headers.js';
import { Headers } from '../core/wire.js';
import type { ResolvedExchange } from './rabbit-rpc.options.js';

/** The AMQP bindings version the document follows. */
const AMQP_BINDING_VERSION = '0.3.0';

/** A queue as the server declares it. */
export interface RabbitQueueShape {
  name: string;
  durable: boolean;
  autoDelete: boolean;
}

/**
 * AMQP carries the reply address and the correlation id in the `replyTo` and `correlationId`
 * message properties; AsyncAPI's runtime expressions reach only headers and payload, so they are
 * named as headers, the way AsyncAPI's own AMQP request/reply example does, and described as properties.
 */
const REPLY_TO = {
  location: '$message.header#/replyTo',
  description: 'The AMQP `replyTo` property (not in the headers table).',
};
const CORRELATION_ID = {
  location: '$message.header#/correlationId',
  description:
    'The AMQP `correlationId` property (not in the headers table), copied back verbatim onto every reply.',
};

function base(
  description: string,
): Omit<AsyncApiTransport, 'replyChannel' | 'channelBindings' | 'operationBindings'> {
  return {
    protocol: 'amqp',
    description,
    replyAddress: REPLY_TO,
    correlationId: CORRELATION_ID,
    requestHeaders: headerDocs(Headers.deadline, Headers.replyMode),
    replyHeaders: headerDocs(...REPLY_FRAME_HEADERS, Headers.cancelTo),
    eventHeaders: {},
  };
}

/** Where requests and replies travel on RabbitMQ, for the AsyncAPI document (docs/wire-protocol.md, *RabbitMQ*). */
export function rabbitServerAsyncApi(
  exchange: ResolvedExchange | undefined,
  serviceQueue: string | undefined,
  queueOf: (destination: AsyncApiDestination) => RabbitQueueShape,
  ack: boolean,
): AsyncApiTransport {
  return {
    ...base(
      exchange
        ? `RabbitRpcServer: exchange "${exchange.name}" (${exchange.type}), service queue "${serviceQueue}" bound with every pattern`
        : 'RabbitRpcServer: one queue per pattern, on the default exchange',
    ),
    replyChannel: {
      address: null,
      description: "The request's `replyTo` queue, through the default exchange.",
    },
    channelBindings: (d) => (exchange ? routingKeyBinding(exchange) : queueBinding(queueOf(d))),
    operationBindings: () => ({ amqp: { ack, bindingVersion: AMQP_BINDING_VERSION } }),
  };
}

/** A client's side: direct reply-to or its private reply queue; requests are published `mandatory`. */
export function rabbitClientAsyncApi(
  exchange: ResolvedExchange | undefined,
  replyQueue: string,
  persistent: boolean,
): AsyncApiTransport {
  return {
    ...base(
      exchange
        ? `RabbitRpcClient: publishes to exchange "${exchange.name}"`
        : 'RabbitRpcClient: publishes to the default exchange',
    ),
    replyChannel: {
      address: replyQueue,
      description: "This client's reply queue (`amq.rabbitmq.reply-to`: RabbitMQ's direct reply-to).",
      bindings: queueBinding({ name: replyQueue, durable: false, autoDelete: true }, true),
    },
    channelBindings: (d) =>
      exchange
        ? routingKeyBinding(exchange)
        : queueBinding({ name: d.destination, durable: false, autoDelete: false }),
    operationBindings: () => ({
      amqp: { mandatory: true, deliveryMode: persistent ? 2 : 1, bindingVersion: AMQP_BINDING_VERSION },
    }),
  };
}

function queueBinding(queue: RabbitQueueShape, exclusive = false): AsyncApiBindings {
  return {
    amqp: {
      is: 'queue',
      queue: { name: queue.name, durable: queue.durable, exclusive, autoDelete: queue.autoDelete },
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
}

function routingKeyBinding(exchange: ResolvedExchange): AsyncApiBindings {
  return {
    amqp: {
      is: 'routingKey',
      exchange: { name: exchange.name, type: exchange.type, durable: exchange.durable, autoDelete: false },
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
}
