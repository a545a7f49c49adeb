import { setTimeout as delay } from 'node:timers/promises';
import { describe } from '../core/describe.js';
import { RpcGroupConflictError } from '../core/errors.js';
import type { DriverAdmin, GroupMember } from './driver/kafka-driver.js';

/** Reads of a group that is still rebalancing (the coordinator describes no subscriptions then), and the pause between them. */
const STABLE_ATTEMPTS = 50;
const STABLE_RETRY_MS = 100;

const HINT =
  'kafkajs assigns every partition of the group leader’s topics round-robin over all members, so ' +
  'partitions would go to members that do not consume them and some topics to nobody. Give each ' +
  'service its own consumer group (consumer.groupId, or a client.clientId of its own), or set ' +
  'consumer.allowMixedSubscriptions while a rolling deploy adds or removes handlers.';

/**
 * The members of the group whose subscribed topics are not exactly `topics`; `undefined` when the
 * group did not settle (stop rebalancing) within a few seconds, or `cancelled()` turned true.
 */
export async function conflictingMembers(
  admin: DriverAdmin,
  groupId: string,
  topics: string[],
  cancelled: () => boolean,
): Promise<GroupMember[] | undefined> {
  const ours = new Set(topics);
  for (let attempt = 1; attempt <= STABLE_ATTEMPTS && !cancelled(); attempt++) {
    const group = await admin.describeGroup(groupId);
    if (group.stable) {
      return group.members.filter(
        (m) =>
          m.topics !== undefined && (m.topics.length !== ours.size || m.topics.some((t) => !ours.has(t))),
      );
    }
    await delay(STABLE_RETRY_MS);
  }
  return undefined;
}

/** The typed error naming the group, this server's topics and the other members'. */
export function groupConflict(
  groupId: string,
  topics: string[],
  members: GroupMember[],
): RpcGroupConflictError {
  return new RpcGroupConflictError(
    groupId,
    [...topics].sort(),
    members.map((m) => ({ clientId: m.clientId, host: m.host, topics: [...(m.topics ?? [])].sort() })),
    HINT,
  );
}

/**
 * Compares a server's consumer group after each of its joins. Refuses a group whose other members
 * subscribe to other topics (two services on one group id): `check(…, true)` at `listen()` rejects
 * with `RpcGroupConflictError`; a server already listening logs it, once per conflict. With
 * `allowMixed` (`consumer.allowMixedSubscriptions`) it is only logged.
 */
export class GroupWatch {
  /** The last conflict logged, so a mixed group is reported once, not at every rebalance. */
  private lastConflict?: string;

  constructor(
    private readonly groupId: string,
    private readonly allowMixed: boolean,
    /** The admin client while the server runs; `undefined` once it stops (nothing is compared then). */
    private readonly admin: () => DriverAdmin | undefined,
    private readonly logger: { warn(text: string): void; error(text: string): void },
  ) {}

  async check(topics: string[], starting: boolean): Promise<void> {
    const admin = this.admin();
    if (!admin) return;
    let others;
    try {
      others = await conflictingMembers(admin, this.groupId, topics, () => this.admin() === undefined);
    } catch (err) {
      this.logger.warn(
        `Could not describe consumer group "${this.groupId}" to compare its members: ${describe(err)}`,
      );
      return;
    }
    if (others === undefined) {
      if (this.admin())
        this.logger.warn(`Consumer group "${this.groupId}" kept rebalancing; its members were not compared`);
      return;
    }
    if (others.length === 0) {
      this.lastConflict = undefined;
      return;
    }
    const conflict = groupConflict(this.groupId, topics, others);
    if (starting && !this.allowMixed) throw conflict;
    if (conflict.message === this.lastConflict) return;
    this.lastConflict = conflict.message;
    if (this.allowMixed) this.logger.warn(conflict.message);
    else this.logger.error(conflict.message);
  }
}
