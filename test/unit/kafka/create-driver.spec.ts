import { afterEach, describe, expect, it } from 'vitest';
import { RpcDriverUnavailableError, RpcError } from '../../../lib/index.js';
import {
  type DriverEntry,
  createKafkaDriver,
  platformaticSupportsNode,
} from '../../../lib/kafka/driver/create-driver.js';
import type {
  DriverAdmin,
  DriverConsumer,
  DriverProducer,
  KafkaDriver,
  ProduceRecord,
} from '../../../lib/kafka/driver/kafka-driver.js';
import { KafkaRpcClient, KafkaRpcServer, type KafkaConnectionOptions } from '../../../lib/kafka/index.js';

const CONNECTION: KafkaConnectionOptions = { brokers: ['fake:9092'], logLevel: 'nothing' };

/** A broker with every topic at one partition, end offset 0; records what is produced. */
class FakeDriver implements KafkaDriver {
  readonly sent: ProduceRecord[] = [];
  admin(): DriverAdmin {
    return {
      connect: async () => {},
      disconnect: async () => {},
      partitionCounts: async (topics) => new Map(topics.map((t) => [t, 1])),
      createTopics: async () => {},
      endOffsets: async () => new Map([[0, '0']]),
      committedOffsets: async () => new Map(),
      describeGroup: async () => ({ stable: true, members: [] }),
      topicConfig: async () => undefined,
    };
  }
  producer(): DriverProducer {
    return {
      connect: async () => {},
      disconnect: async () => {},
      send: async (records) => void this.sent.push(...records),
    };
  }
  consumer(): DriverConsumer {
    return {
      subscribe: async () => {},
      run: async (_handler, listener) => listener.assigned?.({}),
      seek: () => {},
      pause: () => {},
      resume: () => {},
      commit: async () => {},
      disconnect: async () => {},
    };
  }
  errorKind() {
    return 'other' as const;
  }
  explain(error: unknown) {
    return String(error);
  }
}

function entry(overrides: Partial<DriverEntry> = {}): DriverEntry & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    packageName: 'some-kafka-lib',
    load: async () => (options, logContext) => {
      calls.push([options, logContext]);
      return new FakeDriver();
    },
    ...overrides,
    calls,
  };
}

/** Node's own error for a package that is not installed. */
function cannotFind(pkg: string, code = 'ERR_MODULE_NOT_FOUND'): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/x.js`), { code });
}

describe('createKafkaDriver', () => {
  it('builds the default driver (kafkajs) with the connection options and log context', async () => {
    const kafkajs = entry();
    const other = entry();
    const driver = await createKafkaDriver(undefined, CONNECTION, 'Ctx', { kafkajs, platformatic: other });
    expect(driver).toBeInstanceOf(FakeDriver);
    expect(kafkajs.calls).toEqual([[CONNECTION, 'Ctx']]);
    expect(other.calls).toEqual([]);
  });

  it('builds the driver the option names, and loads no other', async () => {
    const kafkajs = entry({ load: () => Promise.reject(new Error('must not be loaded')) });
    const platformatic = entry();
    await createKafkaDriver('platformatic', CONNECTION, 'Ctx', { kafkajs, platformatic }, 'v24.6.0');
    expect(platformatic.calls).toHaveLength(1);
  });

  it('refuses an unknown driver name with a TypeError naming the known ones', async () => {
    await expect(createKafkaDriver('rdkafka' as never, CONNECTION, 'Ctx')).rejects.toThrow(
      'Unknown Kafka driver "rdkafka": use one of "kafkajs", "platformatic"',
    );
  });

  it('refuses a driver on a Node.js it does not support, naming the versions it needs, before loading it', async () => {
    const platformatic = entry({
      requiredNode: '>= 24.6.0',
      supportsNode: (v) => v >= 'v24',
      load: () => Promise.reject(new Error('must not be loaded')),
    });
    const err = await createKafkaDriver(
      'platformatic',
      CONNECTION,
      'Ctx',
      { platformatic },
      'v20.20.2',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcDriverUnavailableError);
    expect(RpcError.is(err, 'RPC_DRIVER_UNAVAILABLE')).toBe(true);
    expect(err).toMatchObject({
      reason: 'node-version',
      driver: 'platformatic',
      packageName: 'some-kafka-lib',
    });
    expect((err as Error).message).toBe(
      'The "platformatic" driver (some-kafka-lib) needs Node.js >= 24.6.0; this is ' + process.version + '.',
    );
  });

  it.each(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])(
    'turns a missing client package (%s) into RpcDriverUnavailableError naming what to install',
    async (code) => {
      const missing = cannotFind('@platformatic/kafka', code);
      const platformatic = entry({ packageName: '@platformatic/kafka', load: () => Promise.reject(missing) });
      const err = await createKafkaDriver('platformatic', CONNECTION, 'Ctx', { platformatic }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RpcDriverUnavailableError);
      expect(err).toMatchObject({ code: 'RPC_DRIVER_UNAVAILABLE', reason: 'not-installed', cause: missing });
      expect((err as Error).message).toBe(
        'The "platformatic" driver needs the package "@platformatic/kafka": install it with `npm install @platformatic/kafka`.',
      );
    },
  );

  it('passes on any other load failure unchanged (another missing module is not the client package)', async () => {
    const other = cannotFind('debug');
    const kafkajs = entry({ packageName: 'kafkajs', load: () => Promise.reject(other) });
    await expect(createKafkaDriver('kafkajs', CONNECTION, 'Ctx', { kafkajs })).rejects.toBe(other);
  });

  it.each([
    ['v20.20.2', false],
    ['v22.21.9', false],
    ['v22.22.0', true],
    ['v23.11.0', false],
    ['v24.5.0', false],
    ['v24.6.0', true],
    ['v25.0.0', true],
  ])('the platformatic driver supports Node.js %s: %s', (version, supported) => {
    expect(platformaticSupportsNode(version)).toBe(supported);
  });
});

describe('KafkaRpcServer and KafkaRpcClient build their driver through the factory', () => {
  const realVersion = process.version;
  /** A Node.js older than @platformatic/kafka supports, whatever Node runs this test. */
  function pretendNode(version: string) {
    Object.defineProperty(process, 'version', { value: version, configurable: true });
  }
  afterEach(() => pretendNode(realVersion));

  it('refuses an unknown driver name at construction', () => {
    expect(() => new KafkaRpcClient({ client: CONNECTION, driver: 'rdkafka' as never })).toThrow(TypeError);
    expect(() => new KafkaRpcServer({ client: CONNECTION, driver: 'rdkafka' as never })).toThrow(TypeError);
  });

  it('client: connect() fails with RpcDriverUnavailableError for platformatic on an old Node.js', async () => {
    pretendNode('v20.20.2');
    const client = new KafkaRpcClient({ client: CONNECTION, driver: 'platformatic' });
    await expect(client.connect()).rejects.toMatchObject({
      code: 'RPC_DRIVER_UNAVAILABLE',
      reason: 'node-version',
      packageName: '@platformatic/kafka',
    });
  });

  it('server: listen() fails with RpcDriverUnavailableError for platformatic on an old Node.js', async () => {
    pretendNode('v22.21.0');
    const server = new KafkaRpcServer({ client: CONNECTION, driver: 'platformatic' });
    server.addHandler('orders', async () => undefined);
    const err = await new Promise<unknown>((resolve) => server.listen((e?: unknown) => resolve(e)));
    expect(err).toMatchObject({ code: 'RPC_DRIVER_UNAVAILABLE', reason: 'node-version' });
    await server.close();
  });

  it('client: runs on the driver its createDriver() hook returns (the fake broker)', async () => {
    const fake = new FakeDriver();
    class TestClient extends KafkaRpcClient {
      protected override createDriver() {
        return fake;
      }
    }
    const client = new TestClient({ client: CONNECTION, replyTopic: 'svc.replies' });
    await client.connect();
    try {
      await client.emit('orders.created', { id: 1 }).toPromise();
      expect(fake.sent).toMatchObject([{ topic: 'orders.created' }]);
    } finally {
      await client.close();
    }
  });
});
