// The AsyncAPI document of a running app over a real broker: built from the server's registered
// handlers and a connected client's calls, valid for @asyncapi/parser, with the broker's bindings.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Parser } from '@asyncapi/parser';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asyncApiDocument,
  type AsyncApiDocument,
  type RpcClient,
  type RpcServer,
} from '../../../lib/index.js';

export interface AsyncApiBrokerSetup<S extends RpcServer, C extends RpcClient> {
  /** Patterns are `${prefix}.sum` (request) and `${prefix}.audit` (event). */
  prefix: string;
  server(): S;
  client(): C;
  /** The broker's own part: bindings, reply address and correlation id locations, reply channel. */
  expectBroker(doc: AsyncApiDocument, ids: ChannelIds, running: { server: S; client: C }): void;
  /** Removes what the app left on the broker (JetStream streams). */
  cleanup?(): Promise<void>;
}

/** The ids of the channels the document gave the app's destinations and reply channels. */
export interface ChannelIds {
  sum: string;
  audit: string;
  serverReplies: string;
  clientReplies: string;
}

function asyncApiModule(prefix: string) {
  @Controller()
  class AsyncApiHandlers {
    @MessagePattern(`${prefix}.sum`)
    sum(@Payload() data: number[]): number {
      return data.reduce((a, b) => a + b, 0);
    }

    @EventPattern(`${prefix}.audit`)
    audit(@Payload() _entry: unknown): void {}
  }

  @Module({ controllers: [AsyncApiHandlers] })
  class AsyncApiModule {}
  return AsyncApiModule;
}

const refId = (ref: { $ref: string }) => decodeURIComponent(ref.$ref.replace('#/channels/', ''));

export function asyncApiConformance<S extends RpcServer, C extends RpcClient>(
  name: string,
  make: () => AsyncApiBrokerSetup<S, C>,
): void {
  describe(`${name}: AsyncAPI document of a running app`, () => {
    const setup = make();
    let app: INestMicroservice;
    let server: S;
    let client: C;

    beforeAll(async () => {
      server = setup.server();
      app = await NestFactory.createMicroservice(asyncApiModule(setup.prefix), {
        strategy: server,
        logger: false,
      });
      await app.listen();
      client = setup.client();
      await client.connect();
    });

    afterAll(async () => {
      await client?.close();
      await app?.close();
      await setup.cleanup?.();
    });

    it('describes the handlers and the client calls of the running app, valid for @asyncapi/parser', async () => {
      const { prefix } = setup;
      // the app answers: the document describes what really runs
      expect(await firstValueFrom(client.send(`${prefix}.sum`, [1, 2]))).toBe(3);

      const doc = asyncApiDocument(
        { servers: [server], clients: [{ client, send: [`${prefix}.sum`], emit: [`${prefix}.audit`] }] },
        {
          info: { title: name, version: '1.0.0' },
          schemas: {
            [`${prefix}.sum`]: {
              request: { type: 'array', items: { type: 'number' } },
              reply: { type: 'number' },
            },
          },
        },
      );
      const diagnostics = await new Parser().validate(JSON.stringify(doc));
      expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.code}: ${d.message}`)).toEqual([]);

      const receive = doc.operations[`${prefix}.sum.receive`]!;
      const send = doc.operations[`${prefix}.sum.send`]!;
      expect(receive).toMatchObject({ action: 'receive', channel: { $ref: `#/channels/${prefix}.sum` } });
      expect(send).toMatchObject({ action: 'send', channel: { $ref: `#/channels/${prefix}.sum` } });
      expect(doc.operations[`${prefix}.audit.receive`]).toMatchObject({ action: 'receive' });
      expect(doc.operations[`${prefix}.audit.receive`]).not.toHaveProperty('reply');
      expect(doc.operations[`${prefix}.audit.send`]).toMatchObject({ action: 'send' });
      const ids: ChannelIds = {
        sum: `${prefix}.sum`,
        audit: `${prefix}.audit`,
        serverReplies: refId((receive.reply as { channel: { $ref: string } }).channel),
        clientReplies: refId((send.reply as { channel: { $ref: string } }).channel),
      };
      expect(doc.channels[ids.sum]!.address).toBe(`${prefix}.sum`);
      expect(doc.channels[ids.audit]!.address).toBe(`${prefix}.audit`);
      expect(doc.channels[ids.serverReplies]!.address).toBeNull();
      expect(doc.channels[ids.sum]!.messages.request!.payload).toEqual({
        type: 'array',
        items: { type: 'number' },
      });
      expect(doc.channels[ids.serverReplies]!.messages[`${prefix}.sum.reply`]!.payload).toEqual({
        type: 'number',
      });
      setup.expectBroker(doc, ids, { server, client });
    });
  });
}
