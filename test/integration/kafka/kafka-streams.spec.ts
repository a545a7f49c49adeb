// Streams on Kafka: ids on the frames, and the server-side bound for a stream whose caller left
// (Kafka has no address a caller could cancel through: maxStreamDuration stops it).
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { finalize, interval, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { cleanUp, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('streams');
const seen = { torndown: 0 };

@Controller()
class KafkaStreams {
  @MessagePattern(`${prefix}.count`)
  count() {
    return interval(5).pipe(take(10));
  }
  @MessagePattern(`${prefix}.tick`)
  tick() {
    return interval(20).pipe(finalize(() => seen.torndown++));
  }
}
@Module({ controllers: [KafkaStreams] })
class KafkaStreamsModule {}

describe('Kafka streams', () => {
  let app: INestMicroservice;
  let server: KafkaRpcServer;
  let client: KafkaRpcClient;
  beforeAll(async () => {
    server = new KafkaRpcServer({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-svc`, logLevel: 'nothing' },
      consumer: { groupId: `${prefix}-svc`, sessionTimeout: 6_000, heartbeatInterval: 500 },
      maxStreamDuration: 1_000,
    });
    app = await NestFactory.createMicroservice(KafkaStreamsModule, { strategy: server, logger: false });
    await app.listen();
    client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gw`, logLevel: 'nothing' },
    });
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await cleanUp(prefix);
  }, 60_000);

  it('delivers a stream bound to its responder, in order', async () => {
    const values = await lastValueFrom(client.send(`${prefix}.count`, null).pipe(toArray()));
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(client.counters.streamFramesDropped).toBe(0);
  });

  it('stops a stream whose caller unsubscribed at maxStreamDuration', async () => {
    await new Promise<void>((resolve) => {
      const sub = client.send(`${prefix}.tick`, null).subscribe((n) => {
        if (n === 1) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await expect.poll(() => seen.torndown, { timeout: 10_000 }).toBe(1);
    expect(server.counters.streamsExpired).toBe(1);
  });
});
