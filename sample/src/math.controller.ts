import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsArray, IsNumber } from 'class-validator';
import { interval, map, take, type Observable } from 'rxjs';
import { RpcResponse } from '../../lib/index.js';
import type { NatsRpcContext } from '../../lib/nats/index.js';

export class SumDto {
  @IsArray() @IsNumber({}, { each: true }) numbers!: number[];
}

@Controller()
export class MathController {
  @MessagePattern('math.sum')
  @UsePipes(
    new ValidationPipe({ exceptionFactory: (errors) => new RpcException({ code: 'E_VALIDATION', errors }) }),
  )
  sum(@Payload() dto: SumDto, @Ctx() ctx: NatsRpcContext): RpcResponse<number> {
    const total = dto.numbers.reduce((a, b) => a + b, 0);
    return new RpcResponse(total, { headers: { 'x-tenant': ctx.getHeaders()['x-tenant'] ?? 'none' } });
  }

  @MessagePattern('math.count')
  count(@Payload() upTo: number): Observable<number> {
    return interval(100).pipe(
      take(upTo),
      map((n) => n + 1),
    );
  }

  @EventPattern('math.audit')
  audit(@Payload() entry: unknown): void {
    console.log('audit', entry);
  }
}
