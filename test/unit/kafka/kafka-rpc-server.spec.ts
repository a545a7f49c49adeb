import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  Assignment,
  BatchHandler,
  ConsumerListener,
  DriverAdmin,
  DriverConsumer,
  DriverProducer,
  KafkaDriver,
  TopicPartitionOffset,
} from '../../../lib/kafka/driver/kafka-driver.js';
import { KafkaRpcServer } from '../../../lib/kafka/index.js';

const TOPIC = 'orders';

/** The group's committed offsets as the fake broker holds them; `startup` is what the first read sees. */
class FakeAdmin implements DriverAdmin {
  reads = 0;
  constructor(
    private readonly ends: Map<number, string>,
    private readonly startup: Map<number, string | undefined>,
    public committed: Map<number, string | undefined>,
  ) {}
  async connect() {}
  async disconnect() {}
  async partitionCounts(topics: string[]) {
    return new Map(topics.map((t) => [t, this.ends.size]));
  }
  async createTopics() {}
  async endOffsets() {
    return new Map(this.ends);
  }
  async committedOffsets() {
    return new Map(this.reads++ === 0 ? this.startup : this.committed);
  }
  async topicConfig() {
    return undefined;
  }
  async describeGroup() {
    return { stable: true, members: [] };
  }
}

/** Records what the server asks of the consumer, in order; joins with `assignment` when run. */
class FakeConsumer implements DriverConsumer {
  readonly calls: string[] = [];
  readonly commits: TopicPartitionOffset[][] = [];
  listener: ConsumerListener = {};
  handler?: BatchHandler;
  private waiters: Array<{ call: string; resolve: () => void }> = [];
  private commitWaiters: Array<{ count: number; resolve: () => void }> = [];
  constructor(private readonly assignment: Assignment) {}
  async subscribe() {}
  async run(handler: BatchHandler, listener: ConsumerListener) {
    this.handler = handler;
    this.listener = listener;
    listener.assigned?.(this.assignment);
  }
  seek(topic: string, partition: number, offset: string) {
    this.record(`seek ${topic}/${partition} ${offset}`);
  }
  pause(topic: string, partitions?: number[]) {
    for (const p of partitions ?? []) this.record(`pause ${topic}/${p}`);
  }
  resume(topic: string, partitions?: number[]) {
    for (const p of partitions ?? []) this.record(`resume ${topic}/${p}`);
  }
  async commit(offsets: TopicPartitionOffset[]) {
    this.commits.push(offsets);
    for (const w of this.commitWaiters.filter((w) => this.commits.length >= w.count)) w.resolve();
  }
  /** Resolves once `count` commits have been made. */
  committedTimes(count: number): Promise<void> {
    if (this.commits.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.commitWaiters.push({ count, resolve }));
  }
  async disconnect() {}
  /** Resolves once `call` has been made. */
  made(call: string): Promise<void> {
    if (this.calls.includes(call)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ call, resolve }));
  }
  private record(call: string) {
    this.calls.push(call);
    for (const w of this.waiters.filter((w) => w.call === call)) w.resolve();
  }
}

class FakeDriver implements KafkaDriver {
  constructor(
    readonly fakeAdmin: FakeAdmin,
    readonly fakeConsumer: FakeConsumer,
  ) {}
  admin() {
    return this.fakeAdmin;
  }
  producer(): DriverProducer {
    return { connect: async () => {}, disconnect: async () => {}, send: async () => {} };
  }
  consumer() {
    return this.fakeConsumer;
  }
  errorKind() {
    return 'other' as const;
  }
  explain(error: unknown) {
    return String(error);
  }
}

function serverOn(driver: FakeDriver): { server: KafkaRpcServer; listening: Promise<void> } {
  class TestServer extends KafkaRpcServer {
    protected override createDriver() {
      return driver;
    }
  }
  const server = new TestServer({
    client: { brokers: ['fake:9092'], logLevel: 'nothing' },
    consumer: { groupId: 'g' },
  });
  server.addHandler(TOPIC, async () => undefined);
  const listening = new Promise<void>((resolve, reject) =>
    server.listen((err?: unknown) => (err ? reject(err) : resolve())),
  );
  return { server, listening };
}

async function start(driver: FakeDriver): Promise<KafkaRpcServer> {
  const { server, listening } = serverOn(driver);
  await listening;
  return server;
}

describe('KafkaRpcServer positioning of partitions new to the group', () => {
  it('starts at the offset another instance committed since startup, else at the startup end offset', async () => {
    // At startup neither partition was committed; by the time this instance joins, another instance
    // of the new group has handled partition 0 up to offset 40 (the requests from 40 to 99 are unhandled).
    const admin = new FakeAdmin(
      new Map([
        [0, '100'],
        [1, '100'],
      ]),
      new Map(),
      new Map([[0, '40']]),
    );
    const consumer = new FakeConsumer({ [TOPIC]: [0, 1] });
    const server = await start(new FakeDriver(admin, consumer));
    try {
      await Promise.all([consumer.made(`resume ${TOPIC}/0`), consumer.made(`resume ${TOPIC}/1`)]);
      // held paused from the join until positioned, so nothing is fetched from the wrong place
      expect(consumer.calls).toEqual([
        `pause ${TOPIC}/0`,
        `pause ${TOPIC}/1`,
        `seek ${TOPIC}/0 40`,
        `resume ${TOPIC}/0`,
        `seek ${TOPIC}/1 100`,
        `resume ${TOPIC}/1`,
      ]);
    } finally {
      await server.close();
    }
    expect(consumer.commits.flat()).toContainEqual({ topic: TOPIC, partition: 0, offset: '40' });
    expect(consumer.commits.flat()).toContainEqual({ topic: TOPIC, partition: 1, offset: '100' });
  });

  it('resolves listen() only once the start offsets of new partitions are committed', async () => {
    // Otherwise a second instance taking a partition over before that commit would start at its own,
    // later, startup end offset and skip requests sent after this listen() resolved.
    const admin = new FakeAdmin(new Map([[0, '100']]), new Map(), new Map());
    const consumer = new FakeConsumer({ [TOPIC]: [0] });
    const server = await start(new FakeDriver(admin, consumer));
    try {
      expect(consumer.commits.flat()).toEqual([{ topic: TOPIC, partition: 0, offset: '100' }]);
    } finally {
      await server.close();
    }
  });

  it('lets close() end a listen() still waiting for its start offsets to be committed', async () => {
    const admin = new FakeAdmin(new Map([[0, '100']]), new Map(), new Map());
    const consumer = new FakeConsumer({ [TOPIC]: [0] });
    consumer.commit = async () => {
      throw new Error('commit refused'); // so listen() keeps waiting (up to the 60 s join timeout)
    };
    const { server, listening } = serverOn(new FakeDriver(admin, consumer));
    await consumer.made(`resume ${TOPIC}/0`);
    await server.close(); // within the test's timeout, not after the join timeout
    await listening;
  });

  it('stops holding listen() back for a new partition that a rebalance takes away', async () => {
    const admin = new FakeAdmin(new Map([[0, '100']]), new Map(), new Map());
    const consumer = new FakeConsumer({ [TOPIC]: [0] });
    consumer.commit = async () => {
      throw new Error('commit refused');
    };
    const { server, listening } = serverOn(new FakeDriver(admin, consumer));
    await consumer.made(`resume ${TOPIC}/0`);
    consumer.listener.assigned?.({ [TOPIC]: [] }); // another instance took it: its start is not ours to commit
    await listening; // within the test's timeout, not after the join timeout
    await server.close();
  });

  it('positions a partition it takes over at a later join by what the group committed meanwhile', async () => {
    const admin = new FakeAdmin(new Map([[0, '100']]), new Map(), new Map());
    const consumer = new FakeConsumer({ [TOPIC]: [] }); // first join: another instance got the partition
    const server = await start(new FakeDriver(admin, consumer));
    try {
      admin.committed = new Map([[0, '70']]);
      consumer.listener.assigned?.({ [TOPIC]: [0] }); // rebalance: the partition comes here
      await consumer.made(`resume ${TOPIC}/0`);
      expect(consumer.calls).toEqual([`pause ${TOPIC}/0`, `seek ${TOPIC}/0 70`, `resume ${TOPIC}/0`]);
    } finally {
      await server.close();
    }
  });

  it('leaves partitions the group had committed at startup to the consumer', async () => {
    const admin = new FakeAdmin(new Map([[0, '100']]), new Map([[0, '10']]), new Map([[0, '10']]));
    const consumer = new FakeConsumer({ [TOPIC]: [0] });
    const server = await start(new FakeDriver(admin, consumer));
    await server.close();
    expect(consumer.calls).toEqual([`resume ${TOPIC}/0`]);
    expect(admin.reads).toBe(1);
  });
});

describe('KafkaRpcServer commits when a rebalance begins', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const record = (offset: number) => ({
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from('{}'),
    headers: {},
    headerBytes: {},
    timestamp: '0',
  });

  it('commits what is finished at once instead of at the end of the commit interval', async () => {
    // setTimeout frozen: the commit interval started by the first commit never ends by itself
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const admin = new FakeAdmin(new Map([[0, '5']]), new Map([[0, '5']]), new Map([[0, '5']]));
    const consumer = new FakeConsumer({ [TOPIC]: [0] });
    const server = await start(new FakeDriver(admin, consumer));
    try {
      expect(consumer.handler!(TOPIC, 0, [record(5)])).toBe(1);
      await consumer.committedTimes(1);
      expect(consumer.handler!(TOPIC, 0, [record(6)])).toBe(1);
      // handled, but its commit waits for the interval's end
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(consumer.commits).toEqual([[{ topic: TOPIC, partition: 0, offset: '6' }]]);
      consumer.listener.rebalancing?.();
      await consumer.committedTimes(2);
      expect(consumer.commits[1]).toEqual([{ topic: TOPIC, partition: 0, offset: '7' }]);
    } finally {
      await server.close();
    }
  });
});
