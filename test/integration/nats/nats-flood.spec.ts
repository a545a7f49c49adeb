import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcRemoteError } from '../../../lib/index.js';
import { NatsRpcClient } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { type FloodChild, mib, startFloodChild } from '../support/flood.js';

describe('NATS flood', () => {
  const children: FloodChild[] = [];
  const clients: NatsRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const child of children.splice(0)) child.kill();
  });

  it('holds at most maxConcurrency + maxQueued requests and answers the rest at once as overloaded', async () => {
    const pattern = `flood${randomUUID().slice(0, 8)}.work`;
    const maxConcurrency = 4;
    const maxQueued = 16;
    const bound = maxConcurrency + maxQueued;
    const n = 1_000;
    const size = 64 * 1024;
    const server = await startFloodChild({
      role: 'nats-server',
      url: NATS_URL,
      pattern,
      maxConcurrency,
      maxQueued,
    });
    children.push(server);
    const client = new NatsRpcClient({ servers: NATS_URL, timeout: 0 });
    clients.push(client);
    await client.connect();

    const before = await server.heap();
    const outcomes = Array.from({ length: n }, (_, i) =>
      lastValueFrom(client.send(pattern, Buffer.alloc(size, i))).then(
        () => 'ok',
        (err) => (err instanceof RpcRemoteError ? err.kind : String(err)),
      ),
    );
    // every request is at the server, and the server has dispatched every one it received
    await client.unwrap().flush();
    await server.call('flush');
    const during = await server.heap();
    const state = await server.call<{ held: number; counters: Record<string, number> }>('state');
    await server.call('release');
    const kinds = await Promise.all(outcomes);

    const growth = during.total - before.total;
    console.log(
      `NATS flood of ${n} × ${size} B: heap + buffers grew by ${mib(growth)} (heapUsed ${mib(during.heapUsed - before.heapUsed)}, arrayBuffers ${mib(during.arrayBuffers - before.arrayBuffers)}); bound ${bound} × S = ${mib(bound * size)}, N × S = ${mib(n * size)}; held ${state.held}`,
    );
    // What the bound holds: its bodies, each perhaps keeping the socket chunk it was read from alive;
    // a tenth of the flood (unbounded, the server held all of it: N × S).
    expect(growth).toBeLessThan(5 * bound * size);
    expect(state.held).toBe(bound);
    expect(kinds.filter((k) => k === 'ok')).toHaveLength(bound);
    expect(kinds.filter((k) => k === 'overloaded')).toHaveLength(n - bound);
    expect(state.counters.requestsRefused).toBe(n - bound);
  }, 120_000);
});
