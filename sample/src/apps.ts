import type { INestApplication, INestMicroservice, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GatewayModule } from './gateway/gateway.module.js';
import type { Transport } from './transports.js';
import { WorkerModule } from './worker/worker.module.js';

type Logger = LoggerService | LogLevel[] | false;

/** Starts the worker microservice on `transport`. */
export async function startWorker(transport: Transport, logger: Logger): Promise<INestMicroservice> {
  const worker = await NestFactory.createMicroservice(WorkerModule, {
    strategy: await transport.server(),
    logger,
    abortOnError: false, // throw a failed start to the caller instead of aborting the process
  });
  await worker.listen();
  return worker;
}

/** Starts the HTTP gateway on `host:port` (port 0: any free port), calling the worker over `transport`. */
export async function startGateway(
  transport: Transport,
  logger: Logger,
  port: number,
  host = '127.0.0.1',
): Promise<INestApplication> {
  const gateway = await NestFactory.create(GatewayModule.register(await transport.client()), {
    logger,
    abortOnError: false,
  });
  await gateway.listen(port, host);
  return gateway;
}
