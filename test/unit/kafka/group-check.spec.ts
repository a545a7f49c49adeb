import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RpcError, RpcGroupConflictError } from '../../../lib/core/errors.js';
import { conflictingMembers, groupConflict, GroupWatch } from '../../../lib/kafka/group-check.js';
import type { DriverAdmin, GroupDescription } from '../../../lib/kafka/driver/kafka-driver.js';
import { subscribedTopics } from '../../../lib/kafka/kafkajs/kafkajs-driver.js';

describe('subscribedTopics (kafkajs group-member metadata)', () => {
  it('reads the topics that kafkajs’s own assigner puts in a member’s metadata', () => {
    // What a kafkajs consumer sends when it joins: if kafkajs changes this encoding, the group check breaks.
    const assigner = kafkajs.PartitionAssigners.roundRobin({
      cluster: {},
      groupId: 'g',
      logger: {},
    } as never);
    const { metadata } = assigner.protocol({ topics: ['a.b', 'c.d'] });
    expect(subscribedTopics(metadata)).toEqual(['a.b', 'c.d']);
  });

  it('reads a Java consumer’s subscription (same leading fields) and gives up on garbage', () => {
    const java = kafkajs.AssignerProtocol.MemberMetadata.encode({
      version: 3,
      topics: ['x'],
      userData: Buffer.alloc(0),
    });
    expect(subscribedTopics(java)).toEqual(['x']);
    expect(subscribedTopics(Buffer.alloc(0))).toBeUndefined();
    expect(subscribedTopics(Buffer.from([0, 1, 0, 0, 0, 9]))).toBeUndefined();
  });
});

function admin(...answers: GroupDescription[]): DriverAdmin & { reads: number } {
  const fake = {
    reads: 0,
    async describeGroup() {
      return answers[Math.min(fake.reads++, answers.length - 1)]!;
    },
  };
  return fake as unknown as DriverAdmin & { reads: number };
}

const member = (clientId: string, topics?: string[]) => ({
  memberId: `${clientId}-1`,
  clientId,
  host: '/10.0.0.1',
  topics,
});

describe('conflictingMembers', () => {
  it('finds the members whose topic set differs, in any order of topics', async () => {
    const a = admin({
      stable: true,
      members: [
        member('same', ['b', 'a']),
        member('other', ['c']),
        member('more', ['a', 'b', 'c']),
        member('unknown'),
      ],
    });
    const others = await conflictingMembers(a, 'g', ['a', 'b'], () => false);
    expect(others?.map((m) => m.clientId)).toEqual(['other', 'more']);
  });

  it('reads the group again while it rebalances, and gives up when cancelled', async () => {
    const a = admin({ stable: false, members: [] }, { stable: true, members: [member('other', ['c'])] });
    expect((await conflictingMembers(a, 'g', ['a'], () => false))?.length).toBe(1);
    expect(a.reads).toBe(2);
    const b = admin({ stable: false, members: [] });
    expect(await conflictingMembers(b, 'g', ['a'], () => b.reads >= 3)).toBeUndefined();
  });
});

describe('groupConflict', () => {
  it('names the group, this server’s topics and the other member’s', () => {
    const err = groupConflict(
      'nestjs-broker-rpc',
      ['orders'],
      [member('nestjs-broker-rpc', ['billing.total'])],
    );
    expect(err).toBeInstanceOf(RpcGroupConflictError);
    expect(RpcError.is(err, 'RPC_GROUP_CONFLICT')).toBe(true);
    expect(err.groupId).toBe('nestjs-broker-rpc');
    expect(err.members).toEqual([
      { clientId: 'nestjs-broker-rpc', host: '/10.0.0.1', topics: ['billing.total'] },
    ]);
    expect(err.message).toContain(
      'Consumer group "nestjs-broker-rpc" has members consuming other topics than this server ("orders"): client "nestjs-broker-rpc" on /10.0.0.1 consumes "billing.total"',
    );
    expect(err.message).toContain('consumer.allowMixedSubscriptions');
  });
});

describe('GroupWatch', () => {
  const mixed = { stable: true, members: [member('other', ['c'])] };
  const logs = () => {
    const lines: string[] = [];
    return {
      lines,
      warn: (text: string) => lines.push(`warn ${text}`),
      error: (text: string) => lines.push(`error ${text}`),
    };
  };

  it('refuses a mixed group at listen(), and logs it once a listening server sees it', async () => {
    const log = logs();
    const watch = new GroupWatch('g', false, () => admin(mixed), log);
    await expect(watch.check(['a'], true)).rejects.toBeInstanceOf(RpcGroupConflictError);
    expect(log.lines).toEqual([]);
    await watch.check(['a'], false);
    await watch.check(['a'], false); // the same conflict at the next rebalance: not again
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^error Consumer group "g" has members consuming other topics/);
  });

  it('only warns with allowMixedSubscriptions, and again once a conflict came back after it ended', async () => {
    const log = logs();
    let group: GroupDescription = mixed;
    const watch = new GroupWatch('g', true, () => admin(group), log);
    await watch.check(['a'], true);
    group = { stable: true, members: [] };
    await watch.check(['a'], false);
    group = mixed;
    await watch.check(['a'], false);
    expect(log.lines.map((l) => l.split(' ')[0])).toEqual(['warn', 'warn']);
  });

  it('compares nothing once the server stops, and logs a group it could not describe', async () => {
    const log = logs();
    const failing = { describeGroup: async () => Promise.reject(new Error('coordinator gone')) };
    await new GroupWatch('g', false, () => undefined, log).check(['a'], true);
    await new GroupWatch('g', false, () => failing as unknown as DriverAdmin, log).check(['a'], true);
    expect(log.lines).toEqual([
      'warn Could not describe consumer group "g" to compare its members: coordinator gone',
    ]);
  });
});
