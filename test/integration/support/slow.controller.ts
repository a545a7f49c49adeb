// The handlers the lifecycle suites hold open (`.slow`) or call while one is held (`.double`).
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { Gate } from './sync.js';

/** `${prefix}.slow` doubles its number once `gate` opens; `${prefix}.double` doubles it at once. */
export function slowController(prefix: string, gate: Gate) {
  @Controller()
  class Slow {
    @MessagePattern(`${prefix}.slow`)
    async slow(@Payload() n: number) {
      await gate.pass();
      return n * 2;
    }
    @MessagePattern(`${prefix}.double`)
    double(@Payload() n: number) {
      return n * 2;
    }
  }
  return Slow;
}
