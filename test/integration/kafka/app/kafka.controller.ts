import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Type } from 'class-transformer';
import { IsEmail, IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { RpcResponse } from '../../../../lib/index.js';
import type { KafkaRpcContext } from '../../../../lib/kafka/index.js';
import { sharedControllers } from '../../support/shared.controller.js';
import { type EventLog, type Gate } from '../../support/sync.js';

// The DTOs of Nest's sum-kafka e2e test (user, business holding a user), validated here.
export class UserDto {
  @IsEmail() email!: string;
  @IsString() name!: string;
  @IsString() phone!: string;
  @IsInt() @Min(0) years!: number;
}
export class BusinessDto {
  @IsString() name!: string;
  @IsString() phone!: string;
  @ValidateNested() @Type(() => UserDto) user!: UserDto;
}
export class UserEntity {
  readonly kind = 'user';
  constructor(
    readonly email: string,
    readonly name: string,
    readonly phone: string,
    readonly years: number,
  ) {}
}

/** Handlers keyed by a value the test picks, each released on its own. */
export class Holds {
  private readonly waiting = new Map<
    string,
    { entered: () => void; release: () => void; done: Promise<void> }
  >();
  private readonly entered = new Map<string, Promise<void>>();
  private slot(id: string) {
    let s = this.waiting.get(id);
    if (!s) {
      let entered!: () => void;
      let release!: () => void;
      this.entered.set(id, new Promise<void>((r) => (entered = r)));
      const done = new Promise<void>((r) => (release = r));
      s = { entered, release, done };
      this.waiting.set(id, s);
    }
    return s;
  }
  async hold(id: string): Promise<void> {
    const s = this.slot(id);
    s.entered();
    await s.done;
  }
  started(id: string): Promise<void> {
    this.slot(id);
    return this.entered.get(id)!;
  }
  release(id: string): void {
    this.slot(id).release();
  }
}

const sumOf = (numbers: number[]) => numbers.reduce((a, b) => a + b, 0);

export function kafkaController(prefix: string, log: EventLog, gate: Gate, holds: Holds) {
  @Controller()
  class KafkaController {
    // The six payload shapes of Nest's sum-kafka test.
    @MessagePattern(`${prefix}.math.sum.sync.kafka.message`)
    withKey(@Payload() data: { numbers: number[] }, @Ctx() ctx: KafkaRpcContext) {
      return { sum: sumOf(data.numbers), key: ctx.getKey()?.toString() ?? null };
    }
    @MessagePattern(`${prefix}.math.sum.sync.without.key`)
    withoutKey(@Payload() data: { numbers: number[] }, @Ctx() ctx: KafkaRpcContext) {
      return { sum: sumOf(data.numbers), key: ctx.getKey() };
    }
    @MessagePattern(`${prefix}.math.sum.sync.plain.object`)
    plainObject(@Payload() data: { numbers: number[] }) {
      return sumOf(data.numbers);
    }
    @MessagePattern(`${prefix}.math.sum.sync.array`)
    array(@Payload() data: number[]) {
      return sumOf(data);
    }
    @MessagePattern(`${prefix}.math.sum.sync.string`)
    string(@Payload() data: string) {
      return sumOf(data.split(',').map(Number));
    }
    @MessagePattern(`${prefix}.math.sum.sync.number`)
    number(@Payload() data: number) {
      return sumOf(String(data).split('').map(Number));
    }

    @MessagePattern(`${prefix}.user.create`)
    @UsePipes(
      new ValidationPipe({
        transform: true,
        exceptionFactory: (e) => new RpcException({ code: 'E_VALIDATION', fields: e.map((x) => x.property) }),
      }),
    )
    createUser(@Payload() user: UserDto): UserEntity {
      if (!(user instanceof UserDto)) throw new Error('not transformed');
      return new UserEntity(user.email, user.name, user.phone, user.years);
    }
    @MessagePattern(`${prefix}.business.create`)
    @UsePipes(
      new ValidationPipe({
        transform: true,
        exceptionFactory: (e) => new RpcException({ code: 'E_VALIDATION', fields: e.map((x) => x.property) }),
      }),
    )
    createBusiness(@Payload() business: BusinessDto) {
      return {
        kind: 'business',
        name: business.name,
        owner: new UserEntity(
          business.user.email,
          business.user.name,
          business.user.phone,
          business.user.years,
        ),
      };
    }

    @MessagePattern(`${prefix}.record`)
    record(@Payload() data: unknown) {
      log.record('record', data);
      return 'recorded';
    }
    @MessagePattern(`${prefix}.hold`)
    async hold(@Payload() id: string, @Ctx() ctx: KafkaRpcContext) {
      log.record('hold', { id, offset: ctx.getOffset(), partition: ctx.getPartition() });
      await holds.hold(id);
      return id;
    }
    @MessagePattern(`${prefix}.where`)
    where(@Ctx() ctx: KafkaRpcContext) {
      return {
        topic: ctx.getTopic(),
        partition: ctx.getPartition(),
        key: ctx.getKey()?.toString() ?? null,
        offset: ctx.getOffset(),
      };
    }
    @MessagePattern(`${prefix}.headers`)
    headers(@Ctx() ctx: KafkaRpcContext) {
      return new RpcResponse(
        { tenant: ctx.getHeaders()['x-tenant'], topic: ctx.getTopic() },
        { headers: { 'x-served-by': 'kafka' } },
      );
    }
    @MessagePattern(`${prefix}.big`)
    big(@Payload() size: number) {
      return 'x'.repeat(size);
    }
  }
  return [...sharedControllers(prefix, log, gate), KafkaController];
}
