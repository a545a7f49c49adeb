import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NatsRpcServer } from '../../lib/nats/index.js';
import { MathController } from './math.controller.js';

@Module({ controllers: [MathController] })
class MathModule {}

const app = await NestFactory.createMicroservice(MathModule, {
  strategy: new NatsRpcServer({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', queue: 'math' }),
});
app.enableShutdownHooks();
await app.listen();
console.log('math service listening on math.*');
