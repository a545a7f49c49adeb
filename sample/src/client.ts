import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { RpcError, RpcRecordBuilder, type RpcReply } from '../../lib/index.js';
import { NatsRpcClient } from '../../lib/nats/index.js';

@Injectable()
class Gateway {
  constructor(@Inject('MATH') private readonly math: ClientProxy) {}

  async run(): Promise<void> {
    const record = new RpcRecordBuilder({ numbers: [1, 2, 3] })
      .setHeaders({ 'x-tenant': 'acme' })
      .withReplyHeaders()
      .build();
    const reply = await firstValueFrom(this.math.send<RpcReply<number>>('math.sum', record));
    console.log('sum', reply.data, 'tenant', reply.headers['x-tenant']);

    console.log('count', await lastValueFrom(this.math.send<number>('math.count', 3).pipe(toArray())));

    try {
      await firstValueFrom(this.math.send('math.sum', { numbers: 'nope' }));
    } catch (err) {
      if (RpcError.is(err)) console.log('typed error', err.code, err.message);
    }
    await lastValueFrom(this.math.emit('math.audit', { by: 'gateway' }), { defaultValue: undefined });
  }
}

@Module({
  imports: [
    ClientsModule.register([
      {
        name: 'MATH',
        customClass: NatsRpcClient,
        options: { servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', timeout: 5_000 },
      },
    ]),
  ],
  providers: [Gateway],
})
class GatewayModule {}

const app = await NestFactory.createApplicationContext(GatewayModule, { logger: ['error', 'warn'] });
await app.get(Gateway).run();
await app.close();
