import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { MessagePattern, Payload, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RpcInvalidPatternError, RpcNoRespondersError } from '../../../lib/index.js';
import { MemoryBroker, MemoryRpcClient, startMemoryMicroservice } from '../../../lib/testing/index.js';

@Injectable()
class Factor {
  value = 2;
}

@Controller()
class ScaleController {
  constructor(private readonly factor: Factor) {}
  @MessagePattern('helper.scale')
  scale(@Payload() n: number): number {
    return n * this.factor.value;
  }
}

@Module({ controllers: [ScaleController], providers: [Factor] })
class ScaleModule {}

@Injectable()
class Caller {
  constructor(@Inject('SCALE') readonly client: ClientProxy) {}
}

describe('startMemoryMicroservice', () => {
  it('starts a module class on a fresh broker, and closes its clients and itself', async () => {
    const worker = await startMemoryMicroservice(ScaleModule);
    expect(worker.broker).not.toBe(MemoryBroker.default);
    const client = worker.client({ timeout: 5_000 });
    await expect(firstValueFrom(client.send('helper.scale', 4))).resolves.toBe(8);
    await expect(firstValueFrom(worker.client().send('helper.scale', 1))).resolves.toBe(2);
    expect(worker.broker.subscriptionCount).toBe(3); // the handler and two inboxes
    await worker.close();
    expect(worker.broker.subscriptionCount).toBe(0);
  });

  it('starts a compiled TestingModule, overrides included', async () => {
    const module = await Test.createTestingModule({ imports: [ScaleModule] })
      .overrideProvider(Factor)
      .useValue({ value: 10 })
      .compile();
    const worker = await startMemoryMicroservice(module);
    try {
      await expect(firstValueFrom(worker.client().send('helper.scale', 4))).resolves.toBe(40);
    } finally {
      await worker.close();
    }
  });

  it('gives each worker its own broker unless one is passed', async () => {
    const first = await startMemoryMicroservice(ScaleModule);
    const shared = new MemoryBroker();
    const second = await startMemoryMicroservice(ScaleModule, { broker: shared });
    try {
      expect(second.broker).toBe(shared);
      first.app.get(Factor).value = 3;
      const other = await firstValueFrom(second.client().send('helper.scale', 1));
      expect(other).toBe(2); // not the first worker's
      const none = new MemoryRpcClient({ broker: new MemoryBroker() });
      await expect(firstValueFrom(none.send('helper.scale', 1))).rejects.toBeInstanceOf(RpcNoRespondersError);
      await none.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('provides a client under a token, closed with the module that holds it', async () => {
    const worker = await startMemoryMicroservice(ScaleModule);
    try {
      const gateway = await Test.createTestingModule({
        providers: [Caller, worker.clientProvider('SCALE')],
      }).compile();
      await expect(firstValueFrom(gateway.get(Caller).client.send('helper.scale', 5))).resolves.toBe(10);
      expect(worker.broker.subscriptionCount).toBe(2);
      await gateway.close();
      expect(worker.broker.subscriptionCount).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('rejects, leaving nothing subscribed, when the microservice cannot start', async () => {
    @Controller()
    class ObjectPattern {
      @MessagePattern({ cmd: 'sum' })
      sum(): number {
        return 0;
      }
    }
    @Module({ controllers: [ObjectPattern] })
    class BadModule {}
    const broker = new MemoryBroker();
    await expect(startMemoryMicroservice(BadModule, { broker, logger: false })).rejects.toBeInstanceOf(
      RpcInvalidPatternError,
    );
    expect(broker.subscriptionCount).toBe(0);
  });
});

describe('the README', () => {
  it('shows readme-example.spec.ts as its "Testing without a broker" example', () => {
    const root = join(import.meta.dirname, '../../..');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Testing without a broker'));
    const block = /```ts\n(\/\/ gateway\.spec\.ts[\s\S]*?)```/.exec(section)?.[1];
    const example = readFileSync(join(import.meta.dirname, 'readme-example.spec.ts'), 'utf8')
      .replace(/'(?:\.\.\/)+lib\/index\.js'/g, "'nestjs-broker-rpc'")
      .replace(/'(?:\.\.\/)+lib\/(\w+)\/index\.js'/g, "'nestjs-broker-rpc/$1'");
    expect(block).toBe(example);
  });
});
