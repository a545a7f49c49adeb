import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { type ClientProvider, ClientsModule } from '@nestjs/microservices';
import { MATH_CLIENT, MathHttpController } from './math-http.controller.js';
import { RpcErrorFilter } from './rpc-error.filter.js';

/** The HTTP gateway. `client` says how to reach the worker: `{ customClass: NatsRpcClient, options: {…} }` and so on. */
@Module({})
export class GatewayModule {
  static register(client: ClientProvider): DynamicModule {
    return {
      module: GatewayModule,
      imports: [ClientsModule.register([{ name: MATH_CLIENT, ...client }])],
      controllers: [MathHttpController],
      providers: [{ provide: APP_FILTER, useClass: RpcErrorFilter }],
    };
  }
}
