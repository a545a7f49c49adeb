import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientRMQ, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { readFileSync } from 'node:fs';
import { firstValueFrom } from 'rxjs';
import { RabbitRpcClient, RabbitRpcServer } from '../lib/rabbitmq/index.js';
import { measure } from './harness.js';
const url = 'amqp://guest:guest@127.0.0.1:5672';
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };
const which = process.env.WHO ?? 'ours';
const beamPid = Number(readFileSync('/work/main/.brokers/rabbitmq/rabbitmq.pid', 'utf8').trim());
const beamCpu = () => { const f = readFileSync(`/proc/${beamPid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
@Controller() class E { @MessagePattern('probe.echo') echo(@Payload() d: unknown) { return d; } }
@Module({ controllers: [E] }) class M {}
async function main() {
  let call: () => Promise<unknown>;
  if (which === 'nest') {
    const rmq = { urls: [url], queue: 'probe.nest', queueOptions: { durable: false }, prefetchCount: 50 };
    const app = await NestFactory.createMicroservice(M, { transport: Transport.RMQ, options: rmq, logger: false });
    await app.listen(); const c = new ClientRMQ(rmq); await c.connect();
    call = () => firstValueFrom(c.send('probe.echo', payload));
  } else {
    const app = await NestFactory.createMicroservice(M, { strategy: new RabbitRpcServer({ urls: [url], prefetch: 50, maxConcurrency: 256 }), logger: false });
    await app.listen(); const c = new RabbitRpcClient({ urls: [url] }); await c.connect();
    call = () => firstValueFrom(c.send('probe.echo', payload));
  }
  await measure('warm', 64, 2000, call);
  for (let i = 0; i < 3; i++) {
    const b0 = beamCpu(); const n0 = process.cpuUsage();
    const r = await measure(which, 64, 4000, call, 0);
    const b = beamCpu() - b0; const n = process.cpuUsage(n0);
    console.log(`${which}: ${Math.round(r.rps)} req/s, node ${((n.user + n.system) / r.requests).toFixed(1)} us/req, broker ${((b * 1000) / r.requests).toFixed(1)} us/req`);
  }
  process.exit(0);
}
main();
