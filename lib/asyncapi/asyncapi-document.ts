import { RpcAsyncApiError } from '../core/errors.js';
import type {
  AsyncApiBindings,
  AsyncApiDestination,
  AsyncApiHeaders,
  AsyncApiTransport,
  JsonSchema,
} from './asyncapi-transport.js';

/** The AsyncAPI version the generator writes. */
export const ASYNCAPI_VERSION = '3.0.0';
/** `info` of a document whose options name none. */
export const DEFAULT_ASYNCAPI_INFO = Object.freeze({ title: 'nestjs-broker-rpc service', version: '0.0.0' });
/** `defaultContentType` of a document: what the codec sends for objects. */
export const DEFAULT_ASYNCAPI_CONTENT_TYPE = 'application/json';

/** What a server class tells the generator (`RpcServer.describeAsyncApi()`). */
export interface AsyncApiServerSide {
  transport: AsyncApiTransport;
  /** One per registered handler. */
  handlers: Array<AsyncApiDestination & { pattern: string }>;
}

/** What a client class tells the generator (`RpcClient.describeAsyncApi(calls)`). */
export interface AsyncApiClientSide {
  transport: AsyncApiTransport;
  calls: Array<AsyncApiDestination & { pattern: string }>;
}

/** Anything that describes itself: our `RpcServer`s. */
export interface AsyncApiDescribedServer {
  describeAsyncApi(): AsyncApiServerSide;
}

/** Anything that describes its calls: our `RpcClient`s. */
export interface AsyncApiDescribedClient {
  describeAsyncApi(calls: { send?: readonly unknown[]; emit?: readonly unknown[] }): AsyncApiClientSide;
}

/** A client and the patterns it calls: a client knows no patterns until it sends, so the app names them. */
export interface AsyncApiClientEntry {
  client: AsyncApiDescribedClient;
  /** Patterns it `send()`s (request/reply). */
  send?: readonly unknown[];
  /** Patterns it `emit()`s (events). */
  emit?: readonly unknown[];
}

/** The parts of a running app the document describes. */
export interface AsyncApiApp {
  /** The transport servers (the `strategy` given to `createMicroservice` / `connectMicroservice`). */
  servers?: readonly AsyncApiDescribedServer[];
  clients?: readonly AsyncApiClientEntry[];
}

/** JSON Schemas of one pattern's messages, supplied by the app. */
export interface AsyncApiPayloads {
  /** The request's (or event's) body. */
  request?: JsonSchema;
  /** A reply's body (each value of a stream). */
  reply?: JsonSchema;
  /** Application headers of the request, as a JSON Schema object (`properties` are merged with ours). */
  headers?: JsonSchema;
}

export interface AsyncApiDocumentOptions {
  /** The document's `info`. Default `DEFAULT_ASYNCAPI_INFO`. */
  info?: { title?: string; version?: string; description?: string } & Record<string, unknown>;
  /** The document's `id` (a URI). Default: none. */
  id?: string;
  /**
   * AsyncAPI `servers` (host, protocol, …), written as given; a channel lists the servers of its
   * protocol. Default: none (the document names no hosts, so no credentials leak into it).
   */
  servers?: Record<string, { host: string; protocol: string } & Record<string, unknown>>;
  /** Payload schemas by pattern (a string pattern, or an object pattern's destination). Default: none, payloads unspecified. */
  schemas?: Record<string, AsyncApiPayloads>;
  /** Default `DEFAULT_ASYNCAPI_CONTENT_TYPE`. */
  defaultContentType?: string;
}

/** An AsyncAPI 3.0 document, as plain JSON-ready data. */
export interface AsyncApiDocument {
  asyncapi: typeof ASYNCAPI_VERSION;
  id?: string;
  info: Record<string, unknown> & { title: string; version: string };
  defaultContentType: string;
  servers?: Record<string, unknown>;
  channels: Record<string, AsyncApiChannelObject>;
  operations: Record<string, Record<string, unknown>>;
}

interface AsyncApiChannelObject {
  address: string | null;
  description?: string;
  messages: Record<string, Record<string, unknown>>;
  bindings?: AsyncApiBindings;
  servers?: Array<{ $ref: string }>;
}

/**
 * Builds an AsyncAPI 3.0 document from a running app's servers (their registered handlers) and
 * clients (the patterns the app says they call): a channel per destination with its broker bindings,
 * a receive operation per handler and a send operation per call, each request with its `reply`
 * (reply channel, reply address location, reply and error messages) and `correlationId`.
 * Call it once the app is initialized (`app.init()` or `listen()`): handlers register then.
 */
export function asyncApiDocument(app: AsyncApiApp, options: AsyncApiDocumentOptions = {}): AsyncApiDocument {
  const builder = new DocumentBuilder(options);
  for (const server of app.servers ?? []) builder.addServerSide(server.describeAsyncApi());
  for (const entry of app.clients ?? []) {
    builder.addClientSide(entry.client.describeAsyncApi({ send: entry.send ?? [], emit: entry.emit ?? [] }));
  }
  return builder.finish();
}

/** AsyncAPI ids allow `[\w.-]`: wildcards get names, anything else an underscore. */
function idOf(text: string): string {
  const named = text.replace(/\*/g, 'STAR').replace(/>/g, 'GT').replace(/#/g, 'HASH');
  const id = named.replace(/[^\w.-]/g, '_');
  return id.length > 0 ? id : '_';
}

/** A JSON pointer segment (RFC 6901). */
function pointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function headersSchema(headers: AsyncApiHeaders, extra?: JsonSchema): JsonSchema {
  const properties: Record<string, unknown> = {};
  for (const [name, doc] of Object.entries(headers)) {
    properties[name] = {
      type: 'string',
      description: doc.description,
      ...(doc.enum ? { enum: [...doc.enum] } : {}),
    };
  }
  const extraProperties = (extra?.properties as Record<string, unknown> | undefined) ?? {};
  // no `additionalProperties: false`: any application header may travel too
  return { ...extra, type: 'object', properties: { ...properties, ...extraProperties } };
}

class DocumentBuilder {
  private readonly channels: Record<string, AsyncApiChannelObject> = {};
  private readonly operations: Record<string, Record<string, unknown>> = {};
  /** `protocol \0 address` → channel id, so a client's and a server's view of one destination share a channel. */
  private readonly channelIds = new Map<string, string>();
  private readonly usedSchemas = new Set<string>();
  /** Channel id → the protocol of its transport, to list the servers of that protocol. */
  private readonly protocols = new Map<string, string>();

  constructor(private readonly options: AsyncApiDocumentOptions) {}

  addServerSide(side: AsyncApiServerSide): void {
    const t = side.transport;
    const replies = this.replyChannel(t);
    for (const handler of side.handlers) {
      const schemas = this.schemasOf(handler.pattern, handler.destination);
      const channel = this.channel(t, handler);
      const request = this.message(
        channel,
        handler.isEvent ? 'event' : 'request',
        this.requestMessage(t, handler, schemas),
      );
      const operation: Record<string, unknown> = {
        action: 'receive',
        channel: { $ref: `#/channels/${pointer(channel)}` },
        summary: `${handler.isEvent ? '@EventPattern' : '@MessagePattern'} ${JSON.stringify(handler.pattern)}`,
        description: t.description,
        messages: [{ $ref: `#/channels/${pointer(channel)}/messages/${pointer(request)}` }],
      };
      const bindings = t.operationBindings(handler);
      if (bindings) operation.bindings = bindings;
      if (!handler.isEvent) operation.reply = this.reply(t, replies, channel, schemas);
      this.operations[this.uniqueOperation(`${channel}.receive`)] = operation;
    }
  }

  addClientSide(side: AsyncApiClientSide): void {
    const t = side.transport;
    const replies = side.calls.some((c) => !c.isEvent) ? this.replyChannel(t) : undefined;
    for (const call of side.calls) {
      const schemas = this.schemasOf(call.pattern, call.destination);
      const channel = this.channel(t, call);
      const request = this.message(
        channel,
        call.isEvent ? 'event' : 'request',
        this.requestMessage(t, call, schemas),
      );
      const operation: Record<string, unknown> = {
        action: 'send',
        channel: { $ref: `#/channels/${pointer(channel)}` },
        summary: `client.${call.isEvent ? 'emit' : 'send'}(${JSON.stringify(call.pattern)})`,
        description: t.description,
        messages: [{ $ref: `#/channels/${pointer(channel)}/messages/${pointer(request)}` }],
      };
      const bindings = t.operationBindings(call);
      if (bindings) operation.bindings = bindings;
      if (!call.isEvent && replies) operation.reply = this.reply(t, replies, channel, schemas);
      this.operations[this.uniqueOperation(`${channel}.send`)] = operation;
    }
  }

  finish(): AsyncApiDocument {
    const unused = Object.keys(this.options.schemas ?? {}).filter((key) => !this.usedSchemas.has(key));
    if (unused.length > 0) {
      throw new RpcAsyncApiError(
        `AsyncAPI schemas were given for ${unused.map((k) => JSON.stringify(k)).join(', ')}, which no handler or client call uses`,
      );
    }
    const servers = this.options.servers;
    if (servers) {
      for (const [id, channel] of Object.entries(this.channels)) {
        const refs = Object.entries(servers)
          .filter(([, server]) => server.protocol === this.protocols.get(id))
          .map(([name]) => ({ $ref: `#/servers/${pointer(name)}` }));
        if (refs.length > 0) channel.servers = refs;
      }
    }
    const info = { ...DEFAULT_ASYNCAPI_INFO, ...this.options.info };
    return {
      asyncapi: ASYNCAPI_VERSION,
      ...(this.options.id ? { id: this.options.id } : {}),
      info,
      defaultContentType: this.options.defaultContentType ?? DEFAULT_ASYNCAPI_CONTENT_TYPE,
      ...(servers ? { servers: { ...servers } } : {}),
      channels: this.channels,
      operations: this.operations,
    };
  }

  private schemasOf(pattern: string, destination: string): AsyncApiPayloads {
    const schemas = this.options.schemas ?? {};
    for (const key of [pattern, destination]) {
      if (Object.hasOwn(schemas, key)) {
        this.usedSchemas.add(key);
        return schemas[key]!;
      }
    }
    return {};
  }

  /** The channel of a destination on a transport; created on first use, bindings from the first side that has them. */
  private channel(t: AsyncApiTransport, destination: AsyncApiDestination): string {
    const key = `${t.protocol}\0${destination.destination}`;
    let id = this.channelIds.get(key);
    if (id === undefined) {
      id = this.uniqueChannel(idOf(destination.destination), t.protocol);
      this.channelIds.set(key, id);
      this.channels[id] = { address: destination.destination, messages: {} };
      this.protocols.set(id, t.protocol);
    }
    const channel = this.channels[id]!;
    if (!channel.bindings) {
      const bindings = t.channelBindings(destination);
      if (bindings) channel.bindings = bindings;
    }
    return id;
  }

  /** The channel replies of one transport side arrive on. */
  private replyChannel(t: AsyncApiTransport): string {
    const address = t.replyChannel.address;
    const id = this.uniqueChannel(
      address === null ? `${t.protocol}.replies` : `${idOf(address)}`,
      t.protocol,
    );
    this.channels[id] = {
      address,
      description: t.replyChannel.description,
      messages: {
        error: {
          name: 'error',
          title: 'Error reply',
          summary: 'The handler failed: `rpc-error` names the kind, the body is the error payload.',
          headers: headersSchema(t.replyHeaders),
          payload: {
            type: 'object',
            properties: { status: { type: 'string' }, message: { type: 'string' } },
          },
          ...(t.correlationId ? { correlationId: { ...t.correlationId } } : {}),
        },
      },
      ...(t.replyChannel.bindings ? { bindings: t.replyChannel.bindings } : {}),
    };
    this.protocols.set(id, t.protocol);
    return id;
  }

  private reply(
    t: AsyncApiTransport,
    replies: string,
    channel: string,
    schemas: AsyncApiPayloads,
  ): Record<string, unknown> {
    const message: Record<string, unknown> = {
      name: `${channel}.reply`,
      title: `Reply of ${this.channels[channel]!.address}`,
      summary: 'A final value, or one frame of a stream (`rpc-stream`).',
      headers: headersSchema(t.replyHeaders),
      ...(schemas.reply ? { payload: schemas.reply } : {}),
      ...(t.correlationId ? { correlationId: { ...t.correlationId } } : {}),
    };
    const id = this.message(replies, `${channel}.reply`, message);
    return {
      ...(t.replyAddress ? { address: { ...t.replyAddress } } : {}),
      channel: { $ref: `#/channels/${pointer(replies)}` },
      messages: [
        { $ref: `#/channels/${pointer(replies)}/messages/${pointer(id)}` },
        { $ref: `#/channels/${pointer(replies)}/messages/error` },
      ],
    };
  }

  private requestMessage(
    t: AsyncApiTransport,
    destination: AsyncApiDestination,
    schemas: AsyncApiPayloads,
  ): Record<string, unknown> {
    return {
      name: destination.isEvent ? 'event' : 'request',
      title: `${destination.isEvent ? 'Event' : 'Request'} on ${destination.destination}`,
      headers: headersSchema(destination.isEvent ? t.eventHeaders : t.requestHeaders, schemas.headers),
      ...(schemas.request ? { payload: schemas.request } : {}),
      ...(!destination.isEvent && t.correlationId ? { correlationId: { ...t.correlationId } } : {}),
    };
  }

  /** Adds a message to a channel under `base`, or reuses an equal one there; returns its id. */
  private message(channel: string, base: string, message: Record<string, unknown>): string {
    const messages = this.channels[channel]!.messages;
    const text = JSON.stringify(message);
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}.${n}`;
      const existing = messages[id];
      if (existing === undefined) {
        messages[id] = message;
        return id;
      }
      if (JSON.stringify(existing) === text) return id;
    }
  }

  private uniqueChannel(base: string, protocol: string): string {
    let id = this.channels[base] === undefined ? base : `${base}-${protocol}`;
    for (let n = 2; this.channels[id] !== undefined; n++) id = `${base}-${protocol}-${n}`;
    return id;
  }

  private uniqueOperation(base: string): string {
    let id = base;
    for (let n = 2; this.operations[id] !== undefined; n++) id = `${base}.${n}`;
    return id;
  }
}
