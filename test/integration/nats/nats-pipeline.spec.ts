import {
  type ArgumentsHost,
  Catch,
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  type INestMicroservice,
  Injectable,
  Module,
  type NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BaseRpcExceptionFilter, MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, map, type Observable, throwError } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder, RpcRemoteError } from '../../../lib/index.js';
import { NatsRpcClient, type NatsRpcContext, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';

const prefix = `p${randomUUID().slice(0, 8)}`;

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<NatsRpcContext>();
    return ctx.getHeaders()['x-tenant'] === 'allowed';
  }
}

@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => ({ wrapped: value })));
  }
}

class DomainError extends Error {}

@Catch(DomainError)
class DomainErrorFilter extends BaseRpcExceptionFilter {
  override catch(exception: DomainError, _host: ArgumentsHost): Observable<never> {
    return throwError(() => ({ code: 'E_DOMAIN', message: exception.message }));
  }
}

@Controller()
class PipelineController {
  @MessagePattern(`${prefix}.guarded`)
  @UseGuards(TenantGuard)
  guarded(@Payload() n: number) {
    return n;
  }

  @MessagePattern(`${prefix}.intercepted`)
  @UseInterceptors(WrapInterceptor)
  intercepted(@Payload() n: number) {
    return n + 1;
  }

  @MessagePattern(`${prefix}.filtered`)
  @UseFilters(new DomainErrorFilter())
  filtered(): never {
    throw new DomainError('out of stock');
  }
}

@Module({ controllers: [PipelineController] })
class PipelineModule {}

describe("Nest's pipeline over NATS", () => {
  let app: INestMicroservice;
  let client: NatsRpcClient;

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(PipelineModule, {
      strategy: new NatsRpcServer({ servers: NATS_URL }),
      logger: false,
    });
    await app.listen();
    client = new NatsRpcClient({ servers: NATS_URL });
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('applies guards: a denied call gets a typed remote error, an allowed one the result', async () => {
    const allowed = new RpcRecordBuilder(5).setHeaders({ 'x-tenant': 'allowed' }).build();
    await expect(firstValueFrom(client.send(`${prefix}.guarded`, allowed))).resolves.toBe(5);
    const err = await firstValueFrom(client.send(`${prefix}.guarded`, 5)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('exception');
    expect(err.message).toBe('Forbidden resource');
  });

  it('applies interceptors to the reply', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.intercepted`, 1))).resolves.toEqual({ wrapped: 2 });
  });

  it('applies exception filters: their payload reaches the caller', async () => {
    const err = await firstValueFrom(client.send(`${prefix}.filtered`, {})).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.error).toEqual({ code: 'E_DOMAIN', message: 'out of stock' });
  });

  it('rejects an object pattern at send time with a clear error', async () => {
    const err = await firstValueFrom(client.send({ cmd: 'sum' }, 1)).catch((e) => e);
    expect(err.code).toBe('RPC_INVALID_PATTERN');
  });
});
