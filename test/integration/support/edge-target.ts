// What the shared deadline and close suites need from a broker's suite: a way to start a server of
// that transport with given options, and connected clients. The suites close what they start.
import type { INestMicroservice, Type } from '@nestjs/common';
import type { RpcClient } from '../../../lib/core/rpc-client.js';
import type { RpcServer } from '../../../lib/core/rpc-server.js';
import type { RpcServerOptions } from '../../../lib/core/options.js';

export interface StartedServer {
  app: INestMicroservice;
  server: RpcServer<any>;
}

export interface EdgeTarget {
  /** A name prefix for patterns unique to this suite run; every pattern a suite uses starts with it. */
  prefix: string;
  /**
   * Starts a Nest microservice with these controllers on a server of the transport; resolves once it
   * listens. Servers started with the same `service` are instances of one service (one Kafka group).
   * `options` may carry the transport's own options too.
   */
  startServer(
    controllers: Type[],
    options: RpcServerOptions & Record<string, unknown>,
    service?: string,
  ): Promise<StartedServer>;
  /** A connected client of the transport. */
  newClient(): Promise<RpcClient<any>>;
  /** A timeout short enough to pass while a handler is held, long enough for a request to reach the server. */
  shortTimeoutMs: number;
  /**
   * What the broker does with a request turned away at close: `answered` (core NATS: nothing would
   * redeliver it, so its caller gets a `shutting-down` error at once) or `redelivered` (to the next
   * server of the service).
   */
  turnedAway: 'answered' | 'redelivered';
  /** Options every server of the close suite gets (e.g. Kafka: one partition, so one server holds every request). */
  serverOptions?: Record<string, unknown>;
  /** Deletes what the suite left on the broker (queues, topics, groups). */
  cleanUp?(): Promise<void>;
}
