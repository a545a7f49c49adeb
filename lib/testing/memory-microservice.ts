import type {
  DynamicModule,
  FactoryProvider,
  INestMicroservice,
  InjectionToken,
  LogLevel,
  NestApplicationOptions,
  Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryBroker } from './memory-broker.js';
import { MemoryRpcClient } from './memory-rpc.client.js';
import type { MemoryRpcClientOptions, MemoryRpcServerOptions } from './memory-rpc.options.js';
import { MemoryRpcServer } from './memory-rpc.server.js';

/** A compiled `@nestjs/testing` module (`await Test.createTestingModule(…).compile()`), as far as this needs it. */
export interface TestingModuleLike {
  createNestMicroservice(options: object): INestMicroservice;
}

export interface MemoryMicroserviceOptions extends MemoryRpcServerOptions {
  /** Nest's logger option for the microservice. Default `DEFAULT_MEMORY_MICROSERVICE_LOGGER`. */
  logger?: NestApplicationOptions['logger'];
}

/** Errors and warnings only, as Nest's testing logger prints: a test's output stays readable. */
export const DEFAULT_MEMORY_MICROSERVICE_LOGGER: LogLevel[] = ['error', 'warn'];

/** A microservice listening on its own `MemoryBroker`, and the clients that reach it. */
export interface MemoryMicroservice {
  /** The started microservice: `app.get(…)` reaches its providers. */
  readonly app: INestMicroservice;
  /** Its broker: a fresh one unless the `broker` option named one. */
  readonly broker: MemoryBroker;
  /** A new client on this broker, e.g. for `overrideProvider('MATH').useValue(worker.client())`. `close()` closes it. */
  client(options?: Omit<MemoryRpcClientOptions, 'broker'>): MemoryRpcClient;
  /** A provider of such a client under `token`, for a testing module's `providers`. */
  clientProvider(
    token: InjectionToken,
    options?: Omit<MemoryRpcClientOptions, 'broker'>,
  ): FactoryProvider<MemoryRpcClient>;
  /** Closes every client made here, then the microservice. */
  close(): Promise<void>;
}

/**
 * Starts `module` (a module class, a dynamic module, or a compiled `TestingModule` whose providers
 * you overrode) as a microservice on a `MemoryRpcServer`, on a fresh `MemoryBroker`: a gateway and a
 * worker in one test, with no broker to run.
 */
export async function startMemoryMicroservice(
  module: Type<unknown> | DynamicModule | TestingModuleLike,
  options: MemoryMicroserviceOptions = {},
): Promise<MemoryMicroservice> {
  const { logger = DEFAULT_MEMORY_MICROSERVICE_LOGGER, ...serverOptions } = options;
  const broker = options.broker ?? new MemoryBroker();
  const strategy = new MemoryRpcServer({ ...serverOptions, broker });
  const settings = { strategy, logger };
  const app = isTestingModule(module)
    ? module.createNestMicroservice(settings)
    : await NestFactory.createMicroservice(module, settings);
  try {
    await app.listen();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const clients = new Set<MemoryRpcClient>();
  const client = (clientOptions: Omit<MemoryRpcClientOptions, 'broker'> = {}) => {
    const made = new MemoryRpcClient({ ...clientOptions, broker });
    clients.add(made);
    // as ClientsModule does: the module holding it closes it on shutdown
    (made as { onApplicationShutdown?: () => Promise<void> }).onApplicationShutdown = () => made.close();
    return made;
  };
  return {
    app,
    broker,
    client,
    clientProvider: (token, clientOptions) => ({ provide: token, useFactory: () => client(clientOptions) }),
    async close() {
      await Promise.all([...clients].map((c) => c.close()));
      clients.clear();
      await app.close();
    },
  };
}

function isTestingModule(module: unknown): module is TestingModuleLike {
  return typeof (module as TestingModuleLike | undefined)?.createNestMicroservice === 'function';
}
