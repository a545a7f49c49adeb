// Handlers for the reply-address tests every broker's suite runs: each records what it received.
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { RpcResponse } from '../../../lib/index.js';
import type { RpcContext } from '../../../lib/core/rpc-context.js';
import type { EventLog } from './sync.js';

/** `${prefix}.work`, `.target`, `.fail`, `.echo-headers` (request handlers) and `.result` (an event handler). */
export function replyPolicyController(prefix: string, log: EventLog) {
  @Controller()
  class ReplyPolicyHandlers {
    @MessagePattern(`${prefix}.work`)
    work(@Payload() data: unknown): unknown {
      log.record('work', data);
      return data;
    }

    @MessagePattern(`${prefix}.target`)
    target(@Payload() data: unknown): unknown {
      log.record('target', data);
      return data;
    }

    @MessagePattern(`${prefix}.fail`)
    fail(): never {
      log.record('fail', null);
      throw new RpcException({ code: 'E_FAIL', message: 'failed on purpose' });
    }

    @MessagePattern(`${prefix}.echo-headers`)
    echoHeaders(@Ctx() ctx: RpcContext): RpcResponse<Record<string, string>> {
      const headers = { ...ctx.getHeaders() };
      return new RpcResponse(headers, { headers });
    }

    @EventPattern(`${prefix}.result`)
    result(@Payload() data: unknown): void {
      log.record('result', data);
    }
  }
  return ReplyPolicyHandlers;
}
