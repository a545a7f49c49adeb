import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import type { ServerResponse } from 'node:http';
import { firstValueFrom } from 'rxjs';
import { RpcRecordBuilder } from '../../../lib/index.js';
import { httpErrorOf } from './rpc-http-errors.js';

/** The injection token of the worker's client. */
export const MATH_CLIENT = 'MATH';

/** How long `/slow` waits for the worker (which takes `SLOW_WORKER_MS`), so that it times out. */
export const SLOW_TIMEOUT_MS = 300;
export const SLOW_WORKER_MS = 1_000;

/** HTTP endpoints, each one call to the worker with `client.send()`. Typed errors become HTTP answers in `RpcErrorFilter`. */
@Controller()
export class MathHttpController {
  constructor(@Inject(MATH_CLIENT) private readonly math: ClientProxy) {}

  /** `GET /sum?numbers=1,2,3` → `{ "sum": 6 }`; `numbers=1,x` is refused by the worker's validation (422). */
  @Get('sum')
  async sum(@Query('numbers') numbers = ''): Promise<{ sum: number }> {
    const list = numbers === '' ? [] : numbers.split(',').map(Number);
    return { sum: await firstValueFrom(this.math.send<number>('math.sum', { numbers: list })) };
  }

  /** `GET /count?to=5`: the worker streams 1..5 and each value is written as an NDJSON line as it arrives. */
  @Get('count')
  count(@Query('to') to = '5', @Res() res: ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      let started = false;
      this.math.send<number>('math.count', Number(to)).subscribe({
        next: (value) => {
          if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          started = true;
          res.write(`${JSON.stringify({ value })}\n`);
        },
        // Before the first value the error filter answers; after it, the status is sent: end with an error line.
        error: (err) => {
          if (!started) return reject(err);
          res.end(`${JSON.stringify({ error: httpErrorOf(err)?.body ?? { message: 'stream failed' } })}\n`);
          resolve();
        },
        complete: () => {
          if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.end();
          resolve();
        },
      });
    });
  }

  /** `GET /divide?a=1&b=0`: the worker throws `RpcException({ code, message })` → RpcRemoteError → 422. */
  @Get('divide')
  async divide(@Query('a') a = '0', @Query('b') b = '0'): Promise<{ result: number }> {
    return {
      result: await firstValueFrom(this.math.send<number>('math.divide', { a: Number(a), b: Number(b) })),
    };
  }

  /** `GET /slow`: a per-call timeout shorter than the worker takes → RpcTimeoutError → 504. */
  @Get('slow')
  async slow(): Promise<{ reply: string }> {
    const record = new RpcRecordBuilder(SLOW_WORKER_MS).setTimeout(SLOW_TIMEOUT_MS).build();
    return { reply: await firstValueFrom(this.math.send<string>('math.slow', record)) };
  }

  /** `GET /nobody`: a pattern no worker serves → RpcNoRespondersError at once → 503. */
  @Get('nobody')
  async nobody(): Promise<unknown> {
    return firstValueFrom(this.math.send('math.nobody', {}));
  }

  /** `GET /ping` → `{ "reply": "pong" }`: the cheapest round trip, for load. */
  @Get('ping')
  async ping(): Promise<{ reply: string }> {
    return { reply: await firstValueFrom(this.math.send<string>('math.ping', {})) };
  }
}
