import type { AsyncApiBindings, AsyncApiTransport } from '../asyncapi/asyncapi-transport.js';
import { headerTransport } from '../asyncapi/header-transport.js';
import { headerDocs } from '../asyncapi/wire-headers.js';
import { Headers } from '../core/wire.js';
import { NestKafkaHeaders } from './kafka-headers.js';

/** The Kafka bindings version the document follows. */
const KAFKA_BINDING_VERSION = '0.5.0';

/** Where requests and replies travel on Kafka, for the AsyncAPI document (docs/wire-protocol.md, *Kafka*). */
export function kafkaServerAsyncApi(
  groupId: string,
  clientId: string,
  partitions: number | undefined,
): AsyncApiTransport {
  return headerTransport({
    protocol: 'kafka',
    description: `KafkaRpcServer, consumer group "${groupId}"`,
    replyToMeans: `the caller's reply topic (a Nest or Spring caller's \`${NestKafkaHeaders.replyTopic}\` is honoured instead)`,
    replyChannel: { address: null, description: "The request's `reply_to` topic." },
    requestHeaders: {
      [NestKafkaHeaders.correlationId]: {
        description: 'Nest/Spring dialect: the correlation id, when `correlation_id` is absent.',
      },
      [NestKafkaHeaders.replyTopic]: {
        description: 'Nest/Spring dialect: the reply topic, when `reply_to` is absent.',
      },
      [NestKafkaHeaders.replyPartition]: {
        description: 'Nest/Spring dialect: the reply partition (decimal text or a 4-byte int).',
      },
    },
    eventHeaders: headerDocs(Headers.retryCount),
    channelBindings: ({ destination }) => topicBinding(destination, partitions),
    operationBindings: () => ({
      kafka: {
        groupId: { type: 'string', enum: [groupId] },
        clientId: { type: 'string', enum: [clientId] },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    }),
  });
}

/** A client's side: its shared reply topic; `nest`: the `kafka_*` headers of a Nest `ServerKafka`. */
export function kafkaClientAsyncApi(
  replyTopic: string,
  clientId: string,
  replyPartitions: number,
  nest: boolean,
): AsyncApiTransport {
  const base = headerTransport({
    protocol: 'kafka',
    description: `KafkaRpcClient "${clientId}"${nest ? ", protocol 'nest'" : ''}`,
    replyToMeans: `this client's reply topic "${replyTopic}"`,
    replyChannel: {
      address: replyTopic,
      description:
        "This client service's reply topic, shared by its instances; each keeps the replies whose correlation id it waits for.",
      bindings: topicBinding(replyTopic, replyPartitions),
    },
    operationBindings: () => ({
      kafka: { clientId: { type: 'string', enum: [clientId] }, bindingVersion: KAFKA_BINDING_VERSION },
    }),
  });
  if (!nest) return base;
  return {
    ...base,
    replyAddress: {
      location: `$message.header#/${NestKafkaHeaders.replyTopic}`,
      description: `The \`${NestKafkaHeaders.replyTopic}\` header: this client's reply topic "${replyTopic}".`,
    },
    correlationId: {
      location: `$message.header#/${NestKafkaHeaders.correlationId}`,
      description: `The \`${NestKafkaHeaders.correlationId}\` header, copied back onto every reply.`,
    },
    requestHeaders: {
      [NestKafkaHeaders.correlationId]: { description: 'The correlation id.' },
      [NestKafkaHeaders.replyTopic]: { description: "This client's reply topic." },
      ...headerDocs(Headers.deadline),
    },
    replyHeaders: {
      [NestKafkaHeaders.correlationId]: { description: 'The correlation id, copied back.' },
      [NestKafkaHeaders.error]: {
        description: 'Present on an error reply: the error payload as JSON or text.',
      },
      [NestKafkaHeaders.isDisposed]: { description: 'Present on the last reply of a request.' },
    },
  };
}

function topicBinding(topic: string, partitions: number | undefined): AsyncApiBindings {
  return {
    kafka: {
      topic,
      ...(partitions !== undefined ? { partitions } : {}),
      bindingVersion: KAFKA_BINDING_VERSION,
    },
  };
}
