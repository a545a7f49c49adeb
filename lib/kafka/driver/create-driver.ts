/**
 * The one place a Kafka driver is chosen and loaded. Each driver module is imported only when it is
 * selected, so an application installs only the client library of the driver it uses.
 */
import { RpcDriverUnavailableError } from '../../core/errors.js';
import {
  DEFAULT_KAFKA_DRIVER,
  type KafkaConnectionOptions,
  type KafkaDriverName,
} from '../kafka-rpc.options.js';
import type { KafkaDriver, KafkaDriverFactory } from './kafka-driver.js';

/** How to load one driver, and what it needs. */
export interface DriverEntry {
  /** The npm package the driver is built on (named in the error when it is missing). */
  packageName: string;
  /** The Node.js versions it supports, as the error states them; absent = every version this package supports. */
  requiredNode?: string;
  supportsNode?(version: string): boolean;
  load(): Promise<KafkaDriverFactory>;
}

/** `@platformatic/kafka`'s `engines`: `>= 22.22.0` on the 22 line, `>= 24.6.0` after it. */
export function platformaticSupportsNode(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major === 22 ? minor >= 22 : major === 24 ? minor >= 6 : major > 24;
}

export const KAFKA_DRIVERS: Readonly<Record<KafkaDriverName, DriverEntry>> = Object.freeze({
  kafkajs: {
    packageName: 'kafkajs',
    load: async () => (await import('../kafkajs/kafkajs-driver.js')).createKafkajsDriver,
  },
  platformatic: {
    packageName: '@platformatic/kafka',
    requiredNode: '>= 22.22.0 (22.x) or >= 24.6.0',
    supportsNode: platformaticSupportsNode,
    load: async () => (await import('../platformatic/platformatic-driver.js')).createPlatformaticDriver,
  },
});

/**
 * Builds the driver `name` selects (default `DEFAULT_KAFKA_DRIVER`). Fails with
 * `RpcDriverUnavailableError` when its client library is not installed or does not run on this Node.js.
 */
export async function createKafkaDriver(
  name: KafkaDriverName | undefined,
  options: KafkaConnectionOptions,
  logContext: string,
  drivers: Readonly<Record<string, DriverEntry>> = KAFKA_DRIVERS,
  nodeVersion: string = process.version,
): Promise<KafkaDriver> {
  const selected = name ?? DEFAULT_KAFKA_DRIVER;
  const entry = checkKafkaDriver(selected, drivers);
  if (entry.supportsNode && !entry.supportsNode(nodeVersion)) {
    throw new RpcDriverUnavailableError(selected, entry.packageName, 'node-version', entry.requiredNode);
  }
  let factory: KafkaDriverFactory;
  try {
    factory = await entry.load();
  } catch (err) {
    if (isMissingPackage(err, entry.packageName)) {
      throw new RpcDriverUnavailableError(selected, entry.packageName, 'not-installed', undefined, {
        cause: err,
      });
    }
    throw err;
  }
  return factory(options, logContext);
}

/** The entry of a known driver name; a `TypeError` naming the known ones otherwise. */
export function checkKafkaDriver(
  name: unknown,
  drivers: Readonly<Record<string, DriverEntry>> = KAFKA_DRIVERS,
): DriverEntry {
  const entry = typeof name === 'string' && Object.hasOwn(drivers, name) ? drivers[name] : undefined;
  if (!entry) {
    const known = Object.keys(drivers).map((d) => `"${d}"`);
    throw new TypeError(`Unknown Kafka driver ${JSON.stringify(name)}: use one of ${known.join(', ')}`);
  }
  return entry;
}

/** Node's "cannot find" error for that package (ESM: `ERR_MODULE_NOT_FOUND`, CommonJS: `MODULE_NOT_FOUND`). */
function isMissingPackage(err: unknown, packageName: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    err instanceof Error &&
    err.message.includes(`'${packageName}'`)
  );
}
