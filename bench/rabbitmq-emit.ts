// What publisher confirms cost emit(): our client (confirm channel, resolves on the broker's ack) against
// a plain amqplib channel publish (what emit() did before: resolved once written, nothing confirmed),
// transient on a non-durable queue and persistent on a durable one, at concurrency 1 and 64.
// Run: node --import ./scripts/register-ts.mjs bench/rabbitmq-emit.ts   (BENCH_MS per measurement, as every bench)
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { RabbitRpcClient } from '../lib/rabbitmq/index.js';
import { BENCH_MS, BROKERS, measure, measureBrokerCpu, printTable, type Result } from './harness.js';

const url = process.env.AMQP_URL ?? BROKERS.AMQP_URL;
const payload = Buffer.from(JSON.stringify({ id: 42, name: 'bench', items: [1, 2, 3] }));
const run = randomBytes(4).toString('hex');
measureBrokerCpu('rabbitmq');

const conn = await amqp.connect(url);
const admin = await conn.createChannel();
const plain = await conn.createChannel();
const confirming = await conn.createConfirmChannel();
const results: Result[] = [];
for (const persistent of [false, true]) {
  const queue = `bench.${run}.emit.${persistent ? 'durable' : 'transient'}`;
  await admin.assertQueue(queue, { durable: persistent });
  const client = new RabbitRpcClient({ urls: [url], persistent });
  await client.connect();
  for (const concurrency of [1, 64]) {
    const kind = persistent ? 'persistent' : 'transient';
    const ours = await measure(`emit() with confirms, ${kind}`, concurrency, BENCH_MS, () =>
      lastValueFrom(client.emit(queue, payload), { defaultValue: undefined }),
    );
    await admin.purgeQueue(queue);
    // a plain publish resolves at once; yield a turn as an awaited emit does
    const unconfirmed = await measure(`plain publish, ${kind}`, concurrency, BENCH_MS, async () => {
      if (!plain.publish('', queue, payload, { persistent, contentType: 'application/octet-stream' }))
        await new Promise((resolve) => plain.once('drain', resolve));
      await new Promise((resolve) => setImmediate(resolve));
    });
    await admin.purgeQueue(queue);
    const rawConfirmed = await measure(
      `raw confirm channel, ${kind}`,
      concurrency,
      BENCH_MS,
      () =>
        new Promise<void>((resolve, reject) =>
          confirming.publish('', queue, payload, { persistent }, (err) => (err ? reject(err) : resolve())),
        ),
    );
    await admin.purgeQueue(queue);
    results.push(unconfirmed, rawConfirmed, ours);
  }
  await client.close();
  await admin.deleteQueue(queue);
}
await conn.close();
printTable(results);
