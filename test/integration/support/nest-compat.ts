// Handlers and calls of the Nest built-in transport cross-tests: the same module runs in a Nest
// built-in server and in ours, the same calls go from Nest's client and from ours.
import { Controller, Module } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { interval, lastValueFrom, NEVER, type Observable, take, toArray } from 'rxjs';

/** What a call ended with: its values, or its error (an `Error` as class name and message). */
export type Outcome = { values: unknown[] } | { error: unknown };

export async function outcome(call$: Observable<unknown>): Promise<Outcome> {
  try {
    return { values: await lastValueFrom(call$.pipe(toArray())) };
  } catch (err) {
    return { error: err instanceof Error ? { class: err.constructor.name, message: err.message } : err };
  }
}

/**
 * `${prefix}.sum`, `.count` (a stream of n values), `.fail` (RpcException with an object), `.failText`
 * (with a string), `.boom` (a plain Error), `.nothing` (undefined), `.echo`, `.never`, `.sumBy` (the
 * sum and who answered; its payload recorded in `handled`), and the `${prefix}.seen` event, recorded in `seen`.
 */
export function compatModule(prefix: string, who: string, seen: unknown[], handled: unknown[] = []) {
  @Controller()
  class CompatHandlers {
    @MessagePattern(`${prefix}.sum`)
    sum(@Payload() data: number[]): number {
      return data.reduce((a, b) => a + b, 0);
    }
    @MessagePattern(`${prefix}.count`)
    count(@Payload() n: number): Observable<number> {
      return interval(1).pipe(take(n));
    }
    @MessagePattern(`${prefix}.fail`)
    fail(@Payload() code: string): never {
      throw new RpcException({ code, message: `refused ${code}` });
    }
    @MessagePattern(`${prefix}.failText`)
    failText(): never {
      throw new RpcException('plain refusal');
    }
    @MessagePattern(`${prefix}.boom`)
    boom(): never {
      throw new Error('a detail the caller must not see');
    }
    @MessagePattern(`${prefix}.nothing`)
    nothing(): undefined {
      return undefined;
    }
    @MessagePattern(`${prefix}.echo`)
    echo(@Payload() data: unknown): unknown {
      return data;
    }
    @MessagePattern(`${prefix}.never`)
    never(): Observable<never> {
      return NEVER;
    }
    @MessagePattern(`${prefix}.sumBy`)
    sumBy(@Payload() data: number[]): { sum: number; by: string } {
      handled.push(data);
      return { sum: data.reduce((a, b) => a + b, 0), by: who };
    }
    @EventPattern(`${prefix}.seen`)
    onSeen(@Payload() data: unknown): void {
      seen.push(data);
    }
  }
  @Module({ controllers: [CompatHandlers] })
  class CompatModule {}
  return CompatModule;
}

/** The calls of the differential test: every kind of reply a Nest built-in server gives. */
export function differentialCalls(prefix: string): Array<[pattern: string, data: unknown]> {
  return [
    [`${prefix}.sum`, [1, 2, 3]],
    [`${prefix}.sum`, []],
    [`${prefix}.count`, 5],
    [`${prefix}.count`, 0],
    [`${prefix}.fail`, 'E_LIMIT'],
    [`${prefix}.failText`, {}],
    [`${prefix}.boom`, {}],
    [`${prefix}.nothing`, {}],
    [`${prefix}.echo`, { text: 'héllo', nested: { list: [1, null, true] } }],
    [`${prefix}.echo`, 'a string'],
    [`${prefix}.unknown`, 1],
  ];
}
