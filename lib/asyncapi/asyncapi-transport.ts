/**
 * What an adapter tells the AsyncAPI generator about its broker: the protocol, the bindings of a
 * destination, where requests carry their reply address and correlation id, and the headers.
 * Plain data, no broker imports: each server and client class returns one (`asyncApiTransport()`).
 */

/** A JSON Schema (draft 07, as AsyncAPI 3.0's default schema format takes it). */
export type JsonSchema = Record<string, unknown>;

/** Broker bindings keyed by AsyncAPI protocol (`{ kafka: { … } }`), as AsyncAPI's bindings objects. */
export type AsyncApiBindings = Record<string, Record<string, unknown>>;

/** Where a message carries a value: an AsyncAPI runtime expression and what it means on this broker. */
export interface AsyncApiLocation {
  /** `$message.header#/<name>`. */
  location: string;
  description: string;
}

/** One header a message may carry: its meaning, and the values it takes when they are few. */
export interface AsyncApiHeader {
  description: string;
  enum?: readonly string[];
}

export type AsyncApiHeaders = Readonly<Record<string, AsyncApiHeader>>;

/** A handler's or a call's destination, as the generator asks an adapter about its bindings. */
export interface AsyncApiDestination {
  destination: string;
  isEvent: boolean;
  /** A handler's per-handler transport options (`@MessagePattern`'s third argument); `{}` for a client. */
  extras: Record<string, unknown>;
}

/** The channel replies arrive on: a fixed address (a client's reply topic) or `null` (the request names it). */
export interface AsyncApiReplyChannel {
  address: string | null;
  description: string;
  bindings?: AsyncApiBindings;
}

export interface AsyncApiTransport {
  /** AsyncAPI protocol name: `kafka`, `amqp`, `nats`, or `memory` for the in-memory transport. */
  protocol: string;
  /** One line on how this side is set up (consumer group, queue group, exchange, JetStream), for descriptions. */
  description: string;
  /** Where a request carries its reply address; absent where it is no header or property (core NATS reply subject). */
  replyAddress?: AsyncApiLocation;
  /** Where requests and their replies carry the correlation id; absent where no runtime expression reaches it. */
  correlationId?: AsyncApiLocation;
  /** Headers of a request, besides the application's. */
  requestHeaders: AsyncApiHeaders;
  /** Headers of a reply (values, stream frames, errors), besides the application's. */
  replyHeaders: AsyncApiHeaders;
  /** Headers of an event, besides the application's. */
  eventHeaders: AsyncApiHeaders;
  /** Where replies go: a server's reply channel is the request's address (`null`), a client's its own. */
  replyChannel: AsyncApiReplyChannel;
  /** Bindings of a destination's channel. */
  channelBindings(destination: AsyncApiDestination): AsyncApiBindings | undefined;
  /** Bindings of the operation on a destination (receive for a server, send for a client). */
  operationBindings(destination: AsyncApiDestination): AsyncApiBindings | undefined;
}
