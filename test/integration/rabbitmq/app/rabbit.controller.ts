import { Controller } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { RpcResponse } from '../../../../lib/index.js';
import { RabbitRpcContext } from '../../../../lib/rabbitmq/index.js';
import { sharedControllers } from '../../support/shared.controller.js';
import type { EventLog, Gate } from '../../support/sync.js';

/** fib(n) the way RabbitMQ's RPC tutorial computes it (recursively). */
export function fib(n: number): number {
  return n === 0 || n === 1 ? n : fib(n - 1) + fib(n - 2);
}

/** How the `settles-itself` handler settles its message through the context's channel. */
export type SelfSettling = 'ack' | 'ack-twice' | 'nack-all-up-to' | 'reject' | 'ackAll' | 'none' | 'wait';

/**
 * A handler that settles its own message the way Nest's built-in RMQ transport has handlers do it
 * (`ctx.getChannelRef().ack(ctx.getMessage())`), and hands the test the channel and message. `wait`
 * holds the handler (unsettled) until the test opens the gate.
 */
export function selfSettlingController(prefix: string, gate: Gate) {
  const used: { channel?: Channel; message?: ConsumeMessage; calls: number } = { calls: 0 };
  @Controller()
  class SelfSettlingHandler {
    @MessagePattern(`${prefix}.settles-itself`)
    async settle(@Payload() how: SelfSettling, @Ctx() ctx: RabbitRpcContext): Promise<SelfSettling> {
      used.calls++;
      const channel = ctx.getChannelRef();
      const msg = ctx.getMessage();
      used.channel = channel;
      used.message = msg;
      if (how === 'wait') await gate.pass();
      else if (how === 'ackAll') channel.ackAll();
      else if (how === 'reject') channel.reject(msg, false);
      else if (how === 'nack-all-up-to') channel.nack(msg, true, false);
      else if (how !== 'none') channel.ack(msg);
      if (how === 'ack-twice') channel.ack(msg, true);
      return how;
    }
  }
  return { controller: SelfSettlingHandler, used };
}

/** The handlers of the default-topology tests (one queue per pattern, each named `${prefix}.…`): the shared ones plus RabbitMQ's own. */
export function rabbitController(prefix: string, log: EventLog, gate: Gate) {
  @Controller()
  class RabbitHandlers {
    @MessagePattern(`${prefix}.flaky`)
    flaky(@Payload() data: { fail: boolean }): string {
      log.record('flaky', data);
      if (data.fail) throw new Error('flaky failure');
      return 'fine';
    }

    @MessagePattern(`${prefix}.amqp-context`)
    context(@Ctx() ctx: RabbitRpcContext): RpcResponse<Record<string, unknown>> {
      return new RpcResponse(
        {
          tenant: ctx.getHeaders()['x-tenant'],
          pattern: ctx.getPattern(),
          routingKey: ctx.getRoutingKey(),
          redelivered: ctx.isRedelivered(),
          correlationId: ctx.getCorrelationId(),
          replyTo: ctx.getReplyTo(),
          contentType: ctx.getProperties().contentType,
          hasChannel: typeof ctx.getChannelRef().ack === 'function',
        },
        { headers: { 'x-served-by': 'rabbit' } },
      );
    }
  }

  @Controller()
  class TutorialController {
    // RabbitMQ's RPC tutorial: the queue is literally `rpc_queue`, the body a decimal number as text.
    @MessagePattern('rpc_queue')
    fibonacci(@Payload() n: number): string {
      return String(fib(Number(n)));
    }
  }
  return { controllers: [...sharedControllers(prefix, log, gate), RabbitHandlers], TutorialController };
}
