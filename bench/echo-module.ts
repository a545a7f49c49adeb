// The echo handler every bench serves, one module per server: a Nest microservice (Nest's built-in
// servers and ours alike) subscribes to every pattern of its module, so two servers must not share one.
import { Controller, Module, type Type } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';

/** A module whose one handler answers `pattern` with the request's own payload. */
export function echoModule(pattern: string): Type {
  @Controller()
  class EchoController {
    @MessagePattern(pattern)
    echo(@Payload() data: unknown) {
      return data;
    }
  }
  @Module({ controllers: [EchoController] })
  class EchoModule {}
  return EchoModule;
}
