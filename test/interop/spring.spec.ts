// Interop with a REAL Spring Kafka caller: an unchanged ReplyingKafkaTemplate (spring-kafka 4.1, pinned
// in test/interop/spring/pom.xml, built by scripts/spring-peer.sh from the test setup) calls our Kafka
// server. Spring sends `kafka_correlationId` as raw bytes and `kafka_replyPartition` as a 4-byte int,
// or none; it matches a reply only by the exact bytes it sent.
import 'reflect-metadata';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_BROKERS } from '../integration/brokers.js';
import { cleanUp, rawKafka, startServer, uniquePrefix } from '../integration/kafka/kafka-helpers.js';
import { callSpring, type SpringCall } from './spring-process.js';

const prefix = uniquePrefix('spring');
const sumTopic = `${prefix}.sum`;
const failTopic = `${prefix}.fail`;
const REPLY_PARTITIONS = 3;
// long enough for a loaded machine; a request the server never answers ends in Spring's timeout
const REPLY_TIMEOUT_MS = 15_000;

@Controller()
class SpringFacing {
  @MessagePattern(sumTopic)
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern(failTopic)
  fail() {
    throw new RpcException({ code: 'E_SPRING', message: 'refused' });
  }
}

let app: INestMicroservice;
let replyTopics = 0;

/** A fresh reply topic of its own for one Spring caller, so it reads its replies from the beginning. */
async function replyTopic(): Promise<string> {
  const topic = `${prefix}.replies.${++replyTopics}`;
  const admin = rawKafka(`${prefix}-admin`).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: REPLY_PARTITIONS }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

async function spring(call: Partial<SpringCall> & Pick<SpringCall, 'values'>) {
  return callSpring({
    brokers: KAFKA_BROKERS.join(','),
    requestTopic: sumTopic,
    replyTopic: await replyTopic(),
    mode: 'group',
    correlation: 'uuid',
    groupId: `${prefix}-caller-${replyTopics}`,
    replyTimeoutMs: REPLY_TIMEOUT_MS,
    ...call,
  });
}

const pairs = (n: number) => Array.from({ length: n }, (_, i) => [i, i * 2, 3]);

describe('Spring ReplyingKafkaTemplate callers on Kafka', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    app = await startServer([SpringFacing], { groupId: `${prefix}-server`, topics: { numPartitions: 2 } });
  });

  afterAll(async () => {
    await app?.close();
    await cleanUp(prefix);
  });

  it('answers sums; Spring matches them by its 16-byte UUID ids (no kafka_replyPartition)', async () => {
    const requests = pairs(10);
    const outcomes = await spring({ values: requests.map((r) => JSON.stringify(r)) });
    expect(outcomes).toEqual(
      requests.map((r, i) =>
        expect.objectContaining({
          i,
          value: String(r[0]! + r[1]! + r[2]!),
          correlationId: expect.stringMatching(/^[0-9a-f]{32}$/),
        }),
      ),
    );
  });

  it('replies to the partition Spring asks for in a 4-byte kafka_replyPartition', async () => {
    const requests = pairs(12);
    const outcomes = await spring({ values: requests.map((r) => JSON.stringify(r)), mode: 'partition:2' });
    expect(outcomes.map((o) => [o.value, o.partition])).toEqual(
      requests.map((r) => [String(r[0]! + r[1]! + r[2]!), 2]),
    );
  });

  it('copies a correlation id that is not UTF-8 back byte for byte', async () => {
    const outcomes = await spring({ values: ['[1,2]', '[3,4]', '[5,6]'], correlation: 'binary' });
    // the caller's ids: ff fe, then a counter from 1 as a 64-bit big-endian int
    expect(outcomes.map((o) => [o.value, o.correlationId])).toEqual([
      ['3', 'fffe0000000000000001'],
      ['7', 'fffe0000000000000002'],
      ['11', 'fffe0000000000000003'],
    ]);
  });

  it("fails the caller's future with the RpcException the handler threw", async () => {
    const outcomes = await spring({ values: ['{}', '{}'], requestTopic: failTopic });
    expect(outcomes).toEqual(
      [0, 1].map((i) => ({ i, error: 'IllegalStateException', message: expect.any(String) })),
    );
    expect(JSON.parse(outcomes[0]!.message!)).toEqual({ code: 'E_SPRING', message: 'refused' });
  });

  it('answers 200 requests in flight at once, each with its own sum', async () => {
    const requests = pairs(200);
    const outcomes = await spring({ values: requests.map((r) => JSON.stringify(r)) });
    expect(outcomes.map((o) => o.value ?? `${o.error}: ${o.message}`)).toEqual(
      requests.map((r) => String(r[0]! + r[1]! + r[2]!)),
    );
    expect(new Set(outcomes.map((o) => o.correlationId)).size).toBe(200);
  });
});
