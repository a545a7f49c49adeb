import { type ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { httpErrorOf } from './rpc-http-errors.js';

/** Answers the package's typed errors with an HTTP status and a JSON body; leaves the rest to Nest. */
@Catch()
export class RpcErrorFilter extends BaseExceptionFilter {
  override catch(err: unknown, host: ArgumentsHost): void {
    const answer = httpErrorOf(err);
    if (!answer) return super.catch(err, host);
    this.httpAdapterHost!.httpAdapter.reply(host.switchToHttp().getResponse(), answer.body, answer.status);
  }
}
