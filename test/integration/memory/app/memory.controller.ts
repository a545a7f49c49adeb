import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { RpcResponse } from '../../../../lib/index.js';
import { MemoryRpcContext } from '../../../../lib/testing/index.js';
import { sharedControllers } from '../../support/shared.controller.js';
import type { EventLog, Gate } from '../../support/sync.js';

/** The shared handlers plus what the in-memory transport has as NATS does: subjects and wildcards. */
export function memoryController(prefix: string, log: EventLog, gate: Gate) {
  @Controller()
  class MemoryHandlers {
    @MessagePattern(`${prefix}.headers`)
    headers(@Ctx() ctx: MemoryRpcContext): RpcResponse<{ tenant?: string; subject: string }> {
      return new RpcResponse(
        { tenant: ctx.getHeaders()['x-tenant'], subject: ctx.getSubject() },
        { headers: { 'x-served-by': 'memory' } },
      );
    }

    @MessagePattern(`${prefix}.greet.*`)
    greet(@Payload() name: string, @Ctx() ctx: MemoryRpcContext): string {
      return `${ctx.getSubject().split('.').pop()} ${name}`;
    }

    @MessagePattern(`${prefix}.inflate`)
    inflate(@Payload() length: number): string {
      return 'x'.repeat(length);
    }

    @MessagePattern(`${prefix}.files.>`)
    file(@Ctx() ctx: MemoryRpcContext): string {
      return ctx.getSubject().slice(`${prefix}.files.`.length);
    }
  }
  return [...sharedControllers(prefix, log, gate), MemoryHandlers];
}
