// Streams on Kafka: ids on the frames, a redelivery within the group, and the server-side bound for a stream whose caller left
// (Kafka has no address a caller could cancel through: maxStreamDuration stops it).
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { finalize, interval, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcStreamRestartedError } from '../../../lib/index.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { cleanUp, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('streams');
const seen = { torndown: 0 };
const runs: string[] = [];

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

/** One instance of a two-instance service: `${prefix}.long` streams 0..29, one value every 100 ms. */
function instanceModule(name: string) {
  @Controller()
  class LongStream {
    @MessagePattern(`${prefix}.long`)
    long() {
      runs.push(name);
      return interval(100).pipe(take(30));
    }
  }
  @Module({ controllers: [LongStream] })
  class InstanceModule {}
  return InstanceModule;
}

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

  it('fails a started stream with RpcStreamRestartedError when the group hands the request to another instance', async () => {
    const instances = new Map<string, INestMicroservice>();
    const strategies = new Map<string, KafkaRpcServer>();
    for (const name of ['a', 'b']) {
      const strategy = new KafkaRpcServer({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-two`, logLevel: 'nothing' },
        consumer: { groupId: `${prefix}-two`, sessionTimeout: 6_000, heartbeatInterval: 500 },
        closeTimeout: 0,
      });
      const instance = await NestFactory.createMicroservice(instanceModule(name), {
        strategy,
        logger: false,
      });
      await instance.listen();
      instances.set(name, instance);
      strategies.set(name, strategy);
    }
    const values: unknown[] = [];
    const outcome = await new Promise<unknown>((resolve) =>
      client.send(`${prefix}.long`, null).subscribe({
        next: (v) => {
          values.push(v);
          // the instance streaming drops out of the group mid-stream as a crashed one would (a graceful
          // close would cut the stream with a shutting-down error and commit it): the group redelivers it
          if (v === 2) void strategies.get(runs[0]!)!.unwrap().consumer?.disconnect();
        },
        error: resolve,
        complete: () => resolve('complete'),
      }),
    );
    await Promise.all([...instances.values()].map((i) => i.close()));
    expect(runs).toHaveLength(2);
    expect(runs[1]).not.toBe(runs[0]);
    expect(outcome).toBeInstanceOf(RpcStreamRestartedError);
    expect(values).toEqual(values.map((_, i) => i)); // a prefix, each value once
  }, 60_000);
});
