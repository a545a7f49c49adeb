import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { setTimeout as delay } from 'node:timers/promises';
import { firstValueFrom } from 'rxjs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { RpcRecordBuilder, RpcTimeoutError } from '../../../lib/index.js';
import { deadlineConformance } from '../support/deadline-conformance.js';
import { kafkaTarget } from './kafka-edge-target.js';

/** How long the server stays away after the requests were produced (the scenario, not a wait for something). */
const OUTAGE_MS = 3_000;

describe('Kafka deadlines', () => {
  const target = kafkaTarget('deadline');
  afterAll(() => target.cleanUp?.());

  deadlineConformance(target);

  it('does not run requests produced while the server was stopped once their deadline has passed', async () => {
    const pattern = `${target.prefix}.backlog`;
    const ran: unknown[] = [];
    @Controller()
    class Work {
      @MessagePattern(pattern)
      work(@Payload() n: unknown) {
        ran.push(n);
        return n;
      }
    }
    // The service has run once (its group has committed offsets), then stops.
    const first = await target.startServer([Work], {}, 'backlog');
    await first.app.close();
    const client = await target.newClient();
    onTestFinished(() => client.close());

    const producedAt = Date.now();
    const calls = Array.from({ length: 10 }, (_, n) =>
      firstValueFrom(client.send(pattern, new RpcRecordBuilder(n).setTimeout(1_000).build())).catch((e) => e),
    );
    for (const outcome of await Promise.all(calls)) expect(outcome).toBeInstanceOf(RpcTimeoutError);
    await delay(Math.max(0, producedAt + OUTAGE_MS - Date.now()));

    const second = await target.startServer([Work], {}, 'backlog'); // default deadlineGrace
    onTestFinished(() => second.app.close());
    await expect.poll(() => second.server.counters.requestsExpired, { timeout: 30_000 }).toBe(10);
    expect(ran).toEqual([]);
    // The server still serves what is not expired.
    await expect(
      firstValueFrom(client.send(pattern, new RpcRecordBuilder('fresh').setTimeout(20_000).build())),
    ).resolves.toBe('fresh');
    expect(ran).toEqual(['fresh']);
  }, 90_000);
});
