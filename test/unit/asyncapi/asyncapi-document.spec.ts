// The AsyncAPI document of a Nest app on the in-memory transport, validated with @asyncapi/parser.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Parser } from '@asyncapi/parser';
import { IsInt, IsString, Min } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import { afterEach, describe, expect, it } from 'vitest';
import { asyncApiDocument, RpcAsyncApiError, RpcError, type AsyncApiDocument } from '../../../lib/index.js';
import { MemoryBroker, MemoryRpcClient, MemoryRpcServer } from '../../../lib/testing/index.js';

@Controller()
class MathController {
  @MessagePattern('math.sum')
  sum(data: number[]): number {
    return data.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('orders.*', { queue: 'orders-workers' })
  order(): string {
    return 'ok';
  }

  @EventPattern('audit.log')
  audit(_data: unknown): void {}
}

class CreateOrderDto {
  @IsString() sku!: string;
  @IsInt() @Min(1) quantity!: number;
}

@Module({ controllers: [MathController] })
class MathModule {}

/** Zero errors from the parser (severity 0); warnings, hints and infos are allowed. */
async function parserErrors(doc: AsyncApiDocument): Promise<string[]> {
  const diagnostics = await new Parser().validate(JSON.stringify(doc));
  return diagnostics
    .filter((d) => d.severity === 0)
    .map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
}

describe('asyncApiDocument over the in-memory transport', () => {
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function start(): Promise<{ server: MemoryRpcServer; client: MemoryRpcClient }> {
    const broker = new MemoryBroker();
    const server = new MemoryRpcServer({ broker });
    const app: INestMicroservice = await NestFactory.createMicroservice(MathModule, {
      strategy: server,
      logger: false,
    });
    await app.listen();
    open.push(app);
    const client = new MemoryRpcClient({ broker });
    open.push(client);
    return { server, client };
  }

  it('describes every registered handler: a channel per destination, receive operations, replies for requests only', async () => {
    const { server } = await start();
    const doc = asyncApiDocument({ servers: [server] }, { info: { title: 'math', version: '1.2.3' } });

    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info).toMatchObject({ title: 'math', version: '1.2.3' });
    expect(Object.fromEntries(Object.entries(doc.channels).map(([id, c]) => [id, c.address]))).toEqual({
      'math.sum': 'math.sum',
      'orders.STAR': 'orders.*',
      'audit.log': 'audit.log',
      'memory.replies': null,
    });
    const sum = doc.operations['math.sum.receive']!;
    expect(sum).toMatchObject({
      action: 'receive',
      channel: { $ref: '#/channels/math.sum' },
      messages: [{ $ref: '#/channels/math.sum/messages/request' }],
      reply: {
        address: { location: '$message.header#/replyTo' },
        channel: { $ref: '#/channels/memory.replies' },
        messages: [
          { $ref: '#/channels/memory.replies/messages/math.sum.reply' },
          { $ref: '#/channels/memory.replies/messages/error' },
        ],
      },
    });
    expect(doc.channels['math.sum']!.messages.request!.correlationId).toMatchObject({
      location: '$message.header#/correlationId',
    });
    expect(doc.operations['orders.STAR.receive']).toMatchObject({
      action: 'receive',
      reply: expect.any(Object),
    });
    expect(doc.operations['audit.log.receive']).toMatchObject({
      action: 'receive',
      messages: [{ $ref: '#/channels/audit.log/messages/event' }],
    });
    expect(doc.operations['audit.log.receive']).not.toHaveProperty('reply');
    // the wire protocol's headers, on the messages where they travel
    const reply = doc.channels['memory.replies']!.messages['math.sum.reply']!;
    expect(Object.keys((reply.headers as { properties: object }).properties)).toEqual(
      expect.arrayContaining(['rpc-error', 'rpc-stream', 'rpc-seq']),
    );
    expect(
      (doc.channels['memory.replies']!.messages.error!.headers as any).properties['rpc-error'].enum,
    ).toContain('no-handler');
    expect(Object.keys((doc.channels['math.sum']!.messages.request!.headers as any).properties)).toContain(
      'rpc-deadline',
    );
  });

  it('adds a send operation per client call, on the same channel as the handler, with the client inbox as reply channel', async () => {
    const { server, client } = await start();
    await client.connect();
    const doc = asyncApiDocument({
      servers: [server],
      clients: [{ client, send: ['math.sum'], emit: ['audit.log'] }],
    });
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.operations['math.sum.send']).toMatchObject({
      action: 'send',
      channel: { $ref: '#/channels/math.sum' },
      messages: [{ $ref: '#/channels/math.sum/messages/request' }],
    });
    const replyRef = (doc.operations['math.sum.send']!.reply as { channel: { $ref: string } }).channel.$ref;
    const replyChannel = doc.channels[replyRef.replace('#/channels/', '')]!;
    expect(replyChannel.address).toMatch(/^_INBOX\.[0-9a-f]{16}$/);
    expect(doc.operations['audit.log.send']).toMatchObject({ action: 'send' });
    expect(doc.operations['audit.log.send']).not.toHaveProperty('reply');
  });

  it('puts the payload schemas the app supplies on requests and replies, and its headers beside ours', async () => {
    const { server } = await start();
    const doc = asyncApiDocument(
      { servers: [server] },
      {
        schemas: {
          'math.sum': {
            request: { type: 'array', items: { type: 'number' } },
            reply: { type: 'number' },
            headers: { type: 'object', properties: { tenant: { type: 'string' } } },
          },
        },
      },
    );
    expect(await parserErrors(doc)).toEqual([]);
    const request = doc.channels['math.sum']!.messages.request!;
    expect(request.payload).toEqual({ type: 'array', items: { type: 'number' } });
    expect((request.headers as any).properties.tenant).toEqual({ type: 'string' });
    expect((request.headers as any).properties['rpc-deadline']).toBeDefined();
    expect(doc.channels['memory.replies']!.messages['math.sum.reply']!.payload).toEqual({ type: 'number' });
    expect(doc.channels['audit.log']!.messages.event).not.toHaveProperty('payload');
  });

  it('takes the schema class-validator-jsonschema makes of a class-validator DTO', async () => {
    const { server } = await start();
    const doc = asyncApiDocument(
      { servers: [server] },
      {
        schemas: {
          'orders.*': { request: targetConstructorToSchema(CreateOrderDto) as Record<string, unknown> },
        },
      },
    );
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.channels['orders.STAR']!.messages.request!.payload).toMatchObject({
      type: 'object',
      properties: { sku: { type: 'string' }, quantity: { minimum: 1 } },
      required: ['sku', 'quantity'],
    });
  });

  it('is checked for real: the parser finds a reply channel that the document lacks', async () => {
    const { server } = await start();
    const doc = asyncApiDocument({ servers: [server] });
    delete (doc.channels as Record<string, unknown>)['memory.replies'];
    expect((await parserErrors(doc)).join('\n')).toContain("'#/channels/memory.replies' does not exist");
  });

  it('fails with RpcAsyncApiError for a schema of a pattern nothing uses (a typo would go unnoticed)', async () => {
    const { server } = await start();
    const err = (() => {
      try {
        asyncApiDocument(
          { servers: [server] },
          { schemas: { 'math.summ': { request: { type: 'number' } } } },
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RpcAsyncApiError);
    expect(RpcError.is(err, 'RPC_ASYNCAPI')).toBe(true);
    expect((err as Error).message).toContain('"math.summ"');
  });

  it('lists the servers the app names on the channels of their protocol', async () => {
    const { server } = await start();
    const doc = asyncApiDocument(
      { servers: [server] },
      {
        servers: {
          local: { host: 'localhost', protocol: 'memory' },
          other: { host: 'x:4222', protocol: 'nats' },
        },
      },
    );
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc.channels['math.sum']!.servers).toEqual([{ $ref: '#/servers/local' }]);
  });

  it('maps object patterns through the destination option, and keeps channel ids unique and legal', async () => {
    const broker = new MemoryBroker();
    const client = new MemoryRpcClient({ broker, destination: (p) => `svc.${String(p.cmd)}` });
    open.push(client);
    const doc = asyncApiDocument({ clients: [{ client, send: [{ cmd: 'a b' }, 'x/y', 'x_y'] }] });
    expect(await parserErrors(doc)).toEqual([]);
    // not connected yet: the inbox is one of `_INBOX.*`
    expect(Object.entries(doc.channels).map(([id, c]) => [id, c.address])).toEqual([
      ['_INBOX.STAR', '_INBOX.*'],
      ['svc.a_b', 'svc.a b'],
      ['x_y', 'x/y'],
      ['x_y-memory', 'x_y'],
    ]);
  });
});
