// gateway.spec.ts: a gateway and its worker in one test, without a broker.
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import {
  ClientsModule,
  MessagePattern,
  Payload,
  RpcException,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test, type TestingModule } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRemoteError } from '../../../lib/index.js';
import { NatsRpcClient } from '../../../lib/nats/index.js';
import { startMemoryMicroservice, type MemoryMicroservice } from '../../../lib/testing/index.js';

// The worker, as your app has it: a microservice on NATS in production.
@Controller()
class MathController {
  @MessagePattern('math.sum')
  sum(@Payload() numbers: number[]): number {
    if (!Array.isArray(numbers)) throw new RpcException({ code: 'E_INPUT', message: 'expected numbers' });
    return numbers.reduce((a, b) => a + b, 0);
  }
}

@Module({ controllers: [MathController] })
class WorkerModule {}

// The gateway, as your app has it: it calls the worker through the 'MATH' client.
@Injectable()
class MathService {
  constructor(@Inject('MATH') private readonly math: ClientProxy) {}

  sum(numbers: unknown): Promise<number> {
    return firstValueFrom(this.math.send('math.sum', numbers));
  }
}

@Module({
  imports: [
    ClientsModule.register([
      { name: 'MATH', customClass: NatsRpcClient, options: { servers: 'nats://127.0.0.1:4222' } },
    ]),
  ],
  providers: [MathService],
})
class GatewayModule {}

// The test: the worker on an in-memory broker, the gateway's 'MATH' client replaced by one on it.
describe('gateway and worker', () => {
  let worker: MemoryMicroservice;
  let gateway: TestingModule;

  beforeAll(async () => {
    worker = await startMemoryMicroservice(WorkerModule);
    gateway = await Test.createTestingModule({ imports: [GatewayModule] })
      .overrideProvider('MATH')
      .useValue(worker.client())
      .compile();
  });

  afterAll(async () => {
    await gateway.close();
    await worker.close();
  });

  it('sums through the worker', async () => {
    await expect(gateway.get(MathService).sum([1, 2, 3])).resolves.toBe(6);
  });

  it('gets the worker’s RpcException as a typed error', async () => {
    const err = await gateway
      .get(MathService)
      .sum('six')
      .catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.error).toEqual({ code: 'E_INPUT', message: 'expected numbers' });
  });
});
