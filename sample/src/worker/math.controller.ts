import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsArray, IsNumber } from 'class-validator';
import { interval, map, take, type Observable } from 'rxjs';

export class SumDto {
  @IsArray() @IsNumber({}, { each: true }) numbers!: number[];
}

export interface DivideDto {
  a: number;
  b: number;
}

/** The worker's handlers. Nothing here knows which broker carries the messages. */
@Controller()
export class MathController {
  @MessagePattern('math.sum')
  // An RpcException reaches the caller as RpcRemoteError with this payload; any other error would be hidden.
  @UsePipes(
    new ValidationPipe({
      exceptionFactory: (errors) =>
        new RpcException({ code: 'E_VALIDATION', fields: errors.map((e) => e.property) }),
    }),
  )
  sum(@Payload() dto: SumDto): number {
    return dto.numbers.reduce((a, b) => a + b, 0);
  }

  /** Streams 1..upTo, one value every 100 ms: the caller's Observable emits each one as it arrives. */
  @MessagePattern('math.count')
  count(@Payload() upTo: number): Observable<number> {
    return interval(100).pipe(
      take(upTo),
      map((n) => n + 1),
    );
  }

  @MessagePattern('math.divide')
  divide(@Payload() { a, b }: DivideDto): number {
    if (b === 0) throw new RpcException({ code: 'E_DIVIDE_BY_ZERO', message: `cannot divide ${a} by 0` });
    return a / b;
  }

  /** Answers after `ms` milliseconds: longer than the caller's timeout, it becomes RpcTimeoutError. */
  @MessagePattern('math.slow')
  async slow(@Payload() ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 'finally';
  }

  /** The cheapest round trip, for load. */
  @MessagePattern('math.ping')
  ping(): string {
    return 'pong';
  }
}
