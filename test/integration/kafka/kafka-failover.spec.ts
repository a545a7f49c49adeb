// Failures: a server instance killed mid-request (a separate OS process, SIGKILL) and a Kafka broker
// restart mid-traffic.
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RpcError, RpcRecordBuilder } from '../../../lib/index.js';
import { KafkaRpcClient, type KafkaRpcContext } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { restartBroker } from '../support/restart-broker.js';
import {
  cleanUp,
  eventually,
  rawKafka,
  startServer,
  uniquePrefix,
  untilNewTopicsServed,
} from './kafka-helpers.js';

const prefix = uniquePrefix('failover');
const timings: Record<string, number> = {};

function workController(topic: string, served: unknown[]) {
  @Controller()
  class WorkController {
    @MessagePattern(topic)
    work(@Payload() data: unknown, @Ctx() ctx: KafkaRpcContext) {
      served.push({ data, partition: ctx.getPartition(), offset: ctx.getOffset() });
      return { by: 'survivor', data };
    }
  }
  return WorkController;
}

describe('Kafka failover', () => {
  const children: ChildProcess[] = [];
  const apps: INestMicroservice[] = [];
  const clients: KafkaRpcClient[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    await untilNewTopicsServed(prefix); // the specs after this one create topics on the restarted broker
    await cleanUp(prefix);
    // For the report: how long recovery took on this machine.
    console.log(`[kafka failover timings] ${JSON.stringify(timings)}`);
  });

  it('moves the partition of a server killed mid-request; the request is processed again and answered exactly once', async () => {
    const topic = `${prefix}.work`;
    const groupId = `${prefix}-workers`;
    const admin = rawKafka(`${prefix}-admin`).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

      const doomed = fork(
        fileURLToPath(new URL('./fixtures/stuck-server.ts', import.meta.url)),
        [KAFKA_BROKERS.join(','), topic, groupId, `${prefix}-doomed`],
        {
          execArgv: ['--import', './scripts/register-ts.mjs'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      children.push(doomed);
      const next = childMessages(doomed);
      await next('ready');

      const served: any[] = [];
      apps.push(await startServer([workController(topic, served)], { groupId }));

      // Once the group is stable, each instance owns one partition: aim the request at the doomed one's.
      let doomedPartition = -1;
      await eventually(
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          const group = groups[0]!;
          if (group.state !== 'Stable' || group.members.length !== 2) return false;
          const member = group.members.find((m) => m.clientId === `${prefix}-doomed`);
          const assignment =
            member && kafkajs.AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
          doomedPartition = assignment?.assignment[topic]?.[0] ?? -1;
          return doomedPartition >= 0;
        },
        30_000,
        'a stable group of two',
      );

      const client = new KafkaRpcClient({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-caller`, logLevel: 'nothing' },
        timeout: 60_000, // session timeout, rebalance and reprocessing on a loaded machine
      });
      clients.push(client);
      await client.connect();
      const reply = firstValueFrom(
        client.send(topic, new RpcRecordBuilder({ job: 7 }).setPartition(doomedPartition).build()),
      );
      const started = await next('started');
      expect(started).toMatchObject({ data: { job: 7 }, partition: doomedPartition });

      const killedAt = performance.now();
      doomed.kill('SIGKILL');
      await once(doomed, 'exit');
      await expect(reply).resolves.toEqual({ by: 'survivor', data: { job: 7 } });
      timings.killToReplyMs = performance.now() - killedAt;

      // The survivor handled it once, from the uncommitted offset; no second reply reached the caller.
      expect(served).toEqual([{ data: { job: 7 }, partition: doomedPartition, offset: started.offset }]);
      await eventually(
        async () => {
          const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
          return (
            Number(entry!.partitions.find((p) => p.partition === doomedPartition)!.offset) >
            Number(started.offset)
          );
        },
        10_000,
        'the survivor’s commit',
      );
      expect(client.replyStats.foreign).toBe(0);
      expect(client.pendingCount).toBe(0);
    } finally {
      await admin.disconnect();
    }
  }, 90_000);

  it('recovers from a broker restart mid-traffic: in-flight requests complete or fail with a typed error, nothing hangs', async () => {
    const topic = `${prefix}.restart`;
    const served: unknown[] = [];
    apps.push(
      await startServer([workController(topic, served)], {
        groupId: `${prefix}-restart`,
        topics: { numPartitions: 3 },
      }),
    );
    const client = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-restart-caller`, logLevel: 'nothing' },
      timeout: 20_000,
    });
    clients.push(client);
    const statuses: string[] = [];
    client.status.subscribe((s) => statuses.push(s));
    await client.connect();
    await expect(firstValueFrom(client.send(topic, 0))).resolves.toEqual({ by: 'survivor', data: 0 });

    let phase: 'before' | 'restarting' | 'after' = 'before';
    const outcomes = {
      before: { ok: 0, failed: 0 },
      restarting: { ok: 0, failed: 0 },
      after: { ok: 0, failed: 0 },
    };
    const untyped: unknown[] = [];
    let firstOkAfter = 0;
    let running = true;
    const loops = Array.from({ length: 4 }, async (_, loop) => {
      let seq = 0;
      while (running) {
        const at = phase;
        const data = { loop, seq: seq++ };
        try {
          const reply = await firstValueFrom(client.send(topic, data));
          expect(reply).toEqual({ by: 'survivor', data });
          outcomes[at].ok++;
          if (at === 'after' && !firstOkAfter) firstOkAfter = performance.now();
        } catch (err) {
          outcomes[at].failed++;
          if (!RpcError.is(err)) untyped.push(err);
          await new Promise((resolve) => setTimeout(resolve, 100)); // no hot loop while the broker is away
        }
      }
    });

    await eventually(() => outcomes.before.ok >= 50, 20_000, 'traffic before the restart');
    phase = 'restarting';
    const restartedAt = performance.now();
    await restartBroker('kafka');
    timings.brokerRestartMs = performance.now() - restartedAt;
    const upAt = performance.now();
    phase = 'after';
    await eventually(() => outcomes.after.ok >= 50, 90_000, 'traffic after the restart');
    timings.brokerUpToFirstReplyMs = firstOkAfter - upAt;
    running = false;
    await Promise.all(loops); // every request settled: nothing hangs
    timings.restartFailures = outcomes.restarting.failed + outcomes.after.failed;

    expect(untyped).toEqual([]);
    expect(outcomes.after.ok).toBeGreaterThanOrEqual(50);
    expect(client.pendingCount).toBe(0);
    console.log(
      `[kafka broker restart] outcomes ${JSON.stringify(outcomes)}, client status ${statuses.join(' > ')}`,
    );
  }, 300_000);
});

/** Awaits IPC messages of a given type from a child, failing if it exits first. */
function childMessages(child: ChildProcess) {
  const seen: Array<Record<string, any>> = [];
  const waiters: Array<{ type: string; resolve: (m: Record<string, any>) => void }> = [];
  child.on('message', (m: Record<string, any>) => {
    seen.push(m);
    for (const w of waiters.filter((w) => w.type === m.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  return (type: string) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const found = seen.find((m) => m.type === type);
      if (found) return resolve(found);
      waiters.push({ type, resolve });
      child.once('exit', (code, signal) =>
        reject(new Error(`child exited (${code ?? signal}) before "${type}"`)),
      );
    });
}
