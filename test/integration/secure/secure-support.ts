import { Controller, Logger, type LoggerService, Module } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { inspect } from 'node:util';
import { expect } from 'vitest';
import { RpcConnectionError, RpcError } from '../../../lib/index.js';

/** A module with one handler, `<prefix>.sum`, for the round trips over the secure listeners. */
export function sumModule(prefix: string) {
  @Controller()
  class SumController {
    @MessagePattern(`${prefix}.sum`)
    sum(@Payload() values: number[]) {
      return values.reduce((a, b) => a + b, 0);
    }
  }
  @Module({ controllers: [SumController] })
  class SumModule {}
  return SumModule;
}

/**
 * Every line the process logs while a spec runs: Nest's loggers (the transports log through them)
 * and whatever is written to stdout/stderr directly.
 */
export function captureLogs() {
  const lines: string[] = [];
  const take =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push(
        `${level} ${args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' ')}`,
      );
  const logger: LoggerService = {
    log: take('log'),
    error: take('error'),
    warn: take('warn'),
    debug: take('debug'),
    verbose: take('verbose'),
    fatal: take('fatal'),
  };
  Logger.overrideLogger(logger);
  const writes = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => (stream.write = write);
  });
  return {
    lines,
    logger,
    restore() {
      for (const undo of writes) undo();
    },
  };
}

/** What a refused connect or listen rejects with: the error, checked to be a refusal of that kind. */
export async function refusal(
  attempt: Promise<unknown>,
  refused: 'authentication' | 'tls',
): Promise<RpcConnectionError> {
  const err = await attempt.then(
    () => {
      throw new Error(`expected the ${refused} refusal, but it connected`);
    },
    (e: unknown) => e,
  );
  expect(RpcError.is(err, 'RPC_CONNECTION'), inspect(err)).toBe(true);
  expect((err as RpcConnectionError).refused).toBe(refused);
  return err as RpcConnectionError;
}

/** No secret appears in the error (message, stack, cause chain, every field) nor in any captured log line. */
export function expectNoSecret(err: unknown, logs: readonly string[], secrets: readonly string[]): void {
  const views = [
    inspect(err, { depth: 10, showHidden: true }),
    String((err as Error).stack),
    JSON.stringify(err),
  ];
  for (let e = (err as Error).cause, depth = 0; e && depth < 10; e = (e as Error).cause, depth++)
    views.push(inspect(e, { depth: 10, showHidden: true }), String((e as Error).stack));
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(4);
    for (const view of views) expect(view).not.toContain(secret);
    for (const line of logs) expect(line).not.toContain(secret);
  }
}
