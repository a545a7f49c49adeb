// Helpers shared by the Kafka integration tests.
import { type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { KafkaRpcServer, type KafkaRpcServerOptions } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';

export const { Kafka, logLevel } = kafkajs;

/** A prefix of topic and group names unique to one test file run, so runs never share state. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomUUID().slice(0, 8)}`;
}

/** A plain kafkajs client for raw interop and inspection. */
export function rawKafka(clientId: string) {
  return new Kafka({
    clientId,
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
  });
}

/** Starts a Nest microservice on a `KafkaRpcServer`. */
export async function startServer(
  controllers: Type[],
  options: Partial<KafkaRpcServerOptions> & { groupId: string },
): Promise<INestMicroservice> {
  @Module({ controllers })
  class ServerModule {}
  const { groupId, ...rest } = options;
  const app = await NestFactory.createMicroservice(ServerModule, {
    strategy: new KafkaRpcServer({
      client: { brokers: KAFKA_BROKERS, clientId: groupId, logLevel: 'nothing' },
      consumer: { groupId, sessionTimeout: 6_000, heartbeatInterval: 500 },
      ...rest,
    }),
    logger: false,
  });
  await app.listen();
  return app;
}

/** Polls `check` until it returns true: for broker-side state that has no event to await (committed offsets). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}

/**
 * Waits until the broker creates a new topic and hosts its partition (a restarted broker answers
 * metadata before it hosts new partitions: creating topics then fails with a retriable error), so
 * that the specs after a restart start on a settled broker. Deletes the probe topic.
 */
export async function untilNewTopicsServed(prefix: string, timeoutMs = 60_000): Promise<void> {
  const admin = rawKafka(`${prefix}-probe`).admin();
  await admin.connect();
  const topic = `${prefix}.probe-${randomUUID().slice(0, 8)}`;
  try {
    await eventually(
      async () => {
        const retriable = (err: unknown): false => {
          if ((err as { retriable?: boolean }).retriable) return false;
          throw err;
        };
        // created by an earlier attempt whose wait for leaders failed: TOPIC_ALREADY_EXISTS, not retriable
        const exists = await admin
          .createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
          .then(() => true)
          .catch((err: { type?: string }) => err.type === 'TOPIC_ALREADY_EXISTS' || retriable(err));
        if (!exists) return false;
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(retriable);
        const topics = metadata ? metadata.topics : [];
        return (topics[0]?.partitions[0]?.leader ?? -1) >= 0;
      },
      timeoutMs,
      'the restarted broker to host a new topic',
    );
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Deletes the topics (and groups) a test file created. */
export async function cleanUp(prefix: string): Promise<void> {
  const admin = rawKafka('cleanup').admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    // Right after a broker restart the group coordinator may still be loading (a retriable error).
    let groups: Array<{ groupId: string }> = [];
    await eventually(
      async () => {
        try {
          ({ groups } = await admin.listGroups());
          return true;
        } catch (err) {
          if ((err as { retriable?: boolean }).retriable) return false;
          throw err;
        }
      },
      30_000,
      'the group coordinator to list groups',
    );
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
