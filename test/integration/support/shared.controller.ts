// The handlers every transport's integration suite serves: the same behaviour on every broker.
import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsInt, IsString, Min } from 'class-validator';
import { from, interval, map, Observable, of, take } from 'rxjs';
import { RpcResponse } from '../../../lib/index.js';
import type { RpcContext } from '../../../lib/core/rpc-context.js';
import type { EventLog, Gate } from './sync.js';

export class OrderDto {
  @IsString() sku!: string;
  @IsInt() @Min(1) quantity!: number;
}

/** Controllers for `${prefix}.sum`, `.stream`, `.echo`, errors, validation, `.slow`, `.context`, `.bytes` and events. */
export function sharedControllers(prefix: string, log: EventLog, gate: Gate) {
  @Controller()
  class SharedHandlers {
    @MessagePattern(`${prefix}.sum`)
    sum(@Payload() data: number[]): number {
      return (data || []).reduce((a, b) => a + b, 0);
    }

    @MessagePattern(`${prefix}.sum.async`)
    async sumAsync(@Payload() data: number[]): Promise<number> {
      return data.reduce((a, b) => a + b, 0);
    }

    @MessagePattern(`${prefix}.sum.observable`)
    sumObservable(@Payload() data: number[]): Observable<number> {
      return of(data.reduce((a, b) => a + b, 0));
    }

    @MessagePattern(`${prefix}.stream`)
    stream(@Payload() data: number[]): Observable<number> {
      return from(data);
    }

    @MessagePattern(`${prefix}.stream.slow`)
    slowStream(@Payload() count: number): Observable<number> {
      return interval(5).pipe(take(count));
    }

    @MessagePattern(`${prefix}.stream.empty`)
    emptyStream(): Observable<number> {
      return from([]);
    }

    @MessagePattern(`${prefix}.echo`)
    echo(@Payload() data: unknown): unknown {
      return data;
    }

    @MessagePattern(`${prefix}.rpc-exception`)
    rpcException(): never {
      throw new RpcException({ code: 'E_LIMIT', message: 'limit reached' });
    }

    @MessagePattern(`${prefix}.crash`)
    crash(): never {
      throw new Error('secret internal detail');
    }

    @MessagePattern(`${prefix}.stream.error`)
    streamError(): Observable<number> {
      return from([1, 2, 3]).pipe(
        map((n) => {
          if (n === 3) throw new RpcException('third value failed');
          return n;
        }),
      );
    }

    @MessagePattern(`${prefix}.order`)
    @UsePipes(
      new ValidationPipe({
        exceptionFactory: (errors) =>
          new RpcException({ code: 'E_VALIDATION', fields: errors.map((e) => e.property) }),
      }),
    )
    order(@Payload() order: OrderDto): string {
      return `${order.quantity} x ${order.sku}`;
    }

    @MessagePattern(`${prefix}.slow`)
    async slow(@Payload() value: number): Promise<number> {
      await gate.pass();
      return value;
    }

    @MessagePattern(`${prefix}.context`)
    context(@Ctx() ctx: RpcContext): RpcResponse<Record<string, unknown>> {
      return new RpcResponse(
        {
          tenant: ctx.getHeaders()['x-tenant'],
          pattern: ctx.getPattern(),
          destination: ctx.getDestination(),
          hasCorrelationId: typeof ctx.getCorrelationId() === 'string',
          hasReplyTo: typeof ctx.getReplyTo() === 'string',
        },
        { headers: { 'x-served-by': 'shared' } },
      );
    }

    @MessagePattern(`${prefix}.bytes`)
    bytes(@Payload() data: Buffer): Buffer {
      return Buffer.from([...data].reverse());
    }

    @EventPattern(`${prefix}.notify`)
    notifyA(@Payload() data: unknown): void {
      log.record('notify.a', data);
    }

    @MessagePattern(`${prefix}.sum.later`)
    sumLater(@Payload() data: number[]): number {
      return data.reduce((a, b) => a + b, 0);
    }

    @EventPattern(`${prefix}.sum.result`)
    sumResult(@Payload() data: unknown): void {
      log.record('sum.result', data);
    }
  }

  @Controller()
  class SecondListener {
    @EventPattern(`${prefix}.notify`)
    notifyB(@Payload() data: unknown): void {
      log.record('notify.b', data);
    }
  }
  return [SharedHandlers, SecondListener];
}
