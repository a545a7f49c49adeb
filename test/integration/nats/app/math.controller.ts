import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { RpcResponse } from '../../../../lib/index.js';
import { NatsRpcContext } from '../../../../lib/nats/index.js';
import { sharedControllers } from '../../support/shared.controller.js';
import { EventLog, Gate } from '../../support/sync.js';

export { EventLog, Gate };

/** The shared handlers plus what only NATS has: subjects and wildcards. */
export function mathController(prefix: string, log: EventLog, gate: Gate) {
  @Controller()
  class NatsHandlers {
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
  }
  return [...sharedControllers(prefix, log, gate), NatsHandlers];
}
