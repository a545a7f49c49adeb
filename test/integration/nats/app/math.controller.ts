import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsInt, IsString, Min } from 'class-validator';
import { from, interval, map, Observable, of, take } from 'rxjs';
import { RpcResponse } from '../../../../lib/index.js';
import { NatsRpcContext } from '../../../../lib/nats/index.js';

export class OrderDto {
  @IsString() sku!: string;
  @IsInt() @Min(1) quantity!: number;
}

/** Records what event handlers saw, so tests can await it. */
export class EventLog {
  private readonly waiters: Array<{ pattern: string; count: number; resolve: () => void }> = [];
  readonly seen: Array<{ pattern: string; data: unknown }> = [];

  record(pattern: string, data: unknown): void {
    this.seen.push({ pattern, data });
    for (const w of [...this.waiters]) {
      if (this.count(w.pattern) >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
  count(pattern: string): number {
    return this.seen.filter((e) => e.pattern === pattern).length;
  }
  until(pattern: string, count = 1): Promise<void> {
    if (this.count(pattern) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pattern, count, resolve }));
  }
}

/** Lets a test hold a handler open and release it. */
export class Gate {
  private opened!: () => void;
  entered!: Promise<void>;
  private markEntered!: () => void;
  private done!: Promise<void>;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((r) => (this.markEntered = r));
    this.done = new Promise((r) => (this.opened = r));
  }
  async pass(): Promise<void> {
    this.markEntered();
    await this.done;
  }
  open(): void {
    this.opened();
  }
}

export function mathController(prefix: string, log: EventLog, gate: Gate) {
  @Controller()
  class MathController {
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

    @MessagePattern(`${prefix}.headers`)
    headers(@Ctx() ctx: NatsRpcContext): RpcResponse<{ tenant?: string; subject: string }> {
      return new RpcResponse(
        { tenant: ctx.getHeaders()['x-tenant'], subject: ctx.getSubject() },
        { headers: { 'x-served-by': 'math' } },
      );
    }

    @MessagePattern(`${prefix}.greet.*`)
    greet(@Payload() name: string, @Ctx() ctx: NatsRpcContext): string {
      return `${ctx.getSubject().split('.').pop()} ${name}`;
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
  return [MathController, SecondListener];
}
