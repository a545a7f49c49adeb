// What publisher confirms cost emit(): our client (confirm channel, resolves on the broker's ack) against
// a plain amqplib channel publish (what emit() did before: resolved once written, nothing confirmed),
// transient on a non-durable queue and persistent on a durable one, at concurrency 1 and 64.
// Run: node --import ./scripts/register-ts.mjs bench/rabbitmq-emit.ts   (BENCH_MS=3000 per measurement)
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { RabbitRpcClient } from '../lib/rabbitmq/index.js';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ms = Number(process.env.BENCH_MS ?? 3_000);
const payload = Buffer.from(JSON.stringify({ id: 42, name: 'bench', items: [1, 2, 3] }));
const run = randomBytes(4).toString('hex');

async function measure(concurrency: number, once: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await once();
        count++;
      }
    }),
  );
  return (count * 1000) / ms;
}

const conn = await amqp.connect(url);
const admin = await conn.createChannel();
const plain = await conn.createChannel();
const confirming = await conn.createConfirmChannel();
const rows: string[] = [];
for (const persistent of [false, true]) {
  const queue = `bench.${run}.emit.${persistent ? 'durable' : 'transient'}`;
  await admin.assertQueue(queue, { durable: persistent });
  const client = new RabbitRpcClient({ urls: [url], persistent });
  await client.connect();
  for (const concurrency of [1, 64]) {
    const ours = await measure(concurrency, () =>
      lastValueFrom(client.emit(queue, payload), { defaultValue: undefined }),
    );
    await admin.purgeQueue(queue);
    // a plain publish resolves at once; yield a turn as an awaited emit does
    const unconfirmed = await measure(concurrency, async () => {
      if (!plain.publish('', queue, payload, { persistent, contentType: 'application/octet-stream' }))
        await new Promise((resolve) => plain.once('drain', resolve));
      await new Promise((resolve) => setImmediate(resolve));
    });
    await admin.purgeQueue(queue);
    const rawConfirmed = await measure(
      concurrency,
      () =>
        new Promise<void>((resolve, reject) =>
          confirming.publish('', queue, payload, { persistent }, (err) => (err ? reject(err) : resolve())),
        ),
    );
    await admin.purgeQueue(queue);
    rows.push(
      `| ${persistent ? 'persistent, durable queue' : 'transient'} | ${concurrency} | ${unconfirmed.toFixed(0)} | ${rawConfirmed.toFixed(0)} | ${ours.toFixed(0)} | ${(ours / unconfirmed).toFixed(2)} |`,
    );
  }
  await client.close();
  await admin.deleteQueue(queue);
}
await conn.close();
console.log(
  '| events | concurrency | plain publish, no confirm (events/s) | raw amqplib confirm channel | emit() with confirms | emit / plain |',
);
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
