// A worker process the chaos suite kills mid-request: it serves `chaos.held`, says "held" on stdout
// when a request arrives and never answers it. Usage: node --import ./scripts/register-ts.mjs
// test/chaos/worker.ts nats|rabbitmq|kafka <url,url,...>
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, type CustomStrategy } from '@nestjs/microservices';

const [broker, target] = process.argv.slice(2);

@Controller()
class HeldController {
  private readonly seen = new Set<number>();

  @MessagePattern('chaos.held')
  async held(@Payload() n: number): Promise<number> {
    // a redelivered request (after the first worker died) is answered; the first never is
    if (this.seen.has(n) || process.env.CHAOS_WORKER_ANSWERS === '1') return 2 * n;
    this.seen.add(n);
    process.stdout.write(`held ${n}\n`);
    return new Promise<number>(() => {});
  }
}

@Module({ controllers: [HeldController] })
class WorkerModule {}

async function strategy(): Promise<CustomStrategy['strategy']> {
  if (broker === 'nats') {
    const { NatsRpcServer } = await import('../../lib/nats/index.js');
    return new NatsRpcServer({ servers: target.split(','), queue: 'chaos-worker' });
  }
  if (broker === 'rabbitmq') {
    const { RabbitRpcServer } = await import('../../lib/rabbitmq/index.js');
    return new RabbitRpcServer({ urls: target.split(','), queue: { quorum: true } });
  }
  if (broker === 'kafka') {
    const { KafkaRpcServer } = await import('../../lib/kafka/index.js');
    const { KAFKA_TEST_DRIVER } = await import('../integration/support/kafka-test-driver.js');
    return new KafkaRpcServer({
      client: { brokers: target.split(','), clientId: 'chaos-worker' },
      driver: KAFKA_TEST_DRIVER,
    });
  }
  throw new Error(`unknown broker ${broker}`);
}

const app = await NestFactory.createMicroservice(WorkerModule, { strategy: await strategy(), logger: false });
await app.listen();
process.stdout.write('ready\n');
