import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterAtLeast, monotonicNow } from '../core/clock.js';
import { RpcError } from '../core/errors.js';
import { checkTimeout } from '../core/options.js';
import { RpcRecordBuilder } from '../core/record-builder.js';
import type { RpcClient } from '../core/rpc-client.js';
import type { RpcServer } from '../core/rpc-server.js';
import type { RpcStatus } from '../core/status.js';

export const DEFAULT_HEALTH_TIMEOUT = 1_000; // one second for the whole check, as terminus's own indicators

/** What `isHealthy` checks beyond the connection status. */
export interface RpcHealthOptions {
  /** A pattern to `send()` a request to; the check is up only when a reply comes back. Default: none (status only). */
  ping?: string | Record<string, unknown>;
  /** The data sent with `ping`. Default `{}`. */
  payload?: unknown;
  /** Milliseconds for the whole check (connect, ping and reply). Default `DEFAULT_HEALTH_TIMEOUT` (1 s). */
  timeout?: number;
  /**
   * For a server with `ping`: makes the client the ping goes through, on the server's transport. Called
   * once per key; the indicator owns that client and closes it at application shutdown or `close()`.
   */
  client?: () => RpcClient;
}

/** `connection` in the result: the last status reported, or `idle` before any. */
export type RpcHealthConnection = RpcStatus | 'idle';

type Target = RpcClient | RpcServer;

/** Health of an `RpcClient` or `RpcServer` for `@nestjs/terminus`: connection status, optionally a real round trip. */
@Injectable()
export class RpcHealthIndicator implements OnApplicationShutdown {
  private readonly pingClients = new Map<string, RpcClient>();

  constructor(private readonly health: HealthIndicatorService) {}

  /**
   * Up when `target` is connected and, with `ping`, a reply came back; down (with `connection`, `code`,
   * `message`) otherwise. Never waits longer than `timeout`. A client not connected yet is connected here,
   * as its first `send()` would.
   */
  async isHealthy<const Key extends string>(
    key: Key,
    target: Target,
    options: RpcHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const timeout = options.timeout ?? DEFAULT_HEALTH_TIMEOUT;
    checkTimeout('timeout', timeout);
    if (timeout === 0) throw new RangeError('timeout must be above 0: a health check must not wait forever');
    const server = !isClient(target);
    if (options.client !== undefined && typeof options.client !== 'function')
      throw new TypeError('client must be a function that returns an RpcClient');
    if (options.client && !server) throw new TypeError('client applies to server checks only');
    if (server && options.ping !== undefined && !options.client)
      throw new TypeError('A server check with ping needs client: () => RpcClient, to send the ping through');

    const session = this.health.check(key);
    const started = monotonicNow();
    let cancel = (): void => undefined;
    const expired = new Promise<never>((_, reject) => {
      cancel = afterAtLeast(timeout, () =>
        reject(new HealthTimeout(`No answer within the health check's timeout of ${timeout} ms`)),
      );
    });
    try {
      const connection = await Promise.race([this.connection(target, server), expired]);
      if (connection !== 'connected')
        return session.down({ connection, message: server ? 'Not listening' : 'Not connected' });
      if (options.ping === undefined) return session.up({ connection });
      const via = server ? this.pingClient(key, options.client!) : (target as RpcClient);
      const left = Math.max(1, Math.ceil(timeout - (monotonicNow() - started)));
      await Promise.race([this.ping(via, options, left), expired]);
      return session.up({ connection, latencyMs: Math.round(monotonicNow() - started) });
    } catch (err) {
      return session.down({ connection: lastStatus(target), ...describeFailure(err) });
    } finally {
      cancel();
    }
  }

  /** Closes the clients the indicator made for server pings. */
  async close(): Promise<void> {
    const clients = [...this.pingClients.values()];
    this.pingClients.clear();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async connection(target: Target, server: boolean): Promise<RpcHealthConnection> {
    const status = lastStatus(target);
    if (status !== 'idle' || server) return status;
    await (target as RpcClient).connect();
    return lastStatus(target);
  }

  private pingClient(key: string, make: () => RpcClient): RpcClient {
    let client = this.pingClients.get(key);
    if (!client) {
      client = make();
      if (!isClient(client)) throw new TypeError('client() must return an RpcClient');
      this.pingClients.set(key, client);
    }
    return client;
  }

  private async ping(client: RpcClient, options: RpcHealthOptions, ms: number): Promise<void> {
    const record = new RpcRecordBuilder(options.payload ?? {}).setTimeout(ms).build();
    await firstValueFrom(client.send(options.ping!, record));
  }
}

class HealthTimeout extends Error {
  readonly code = 'RPC_TIMEOUT';
}

// A server has `listen` (and a `send` of its own), a client does not.
function isClient(target: Target): target is RpcClient {
  return (
    typeof (target as RpcServer).listen !== 'function' && typeof (target as RpcClient).connect === 'function'
  );
}

/** The status last reported; `unblocked` means connected again. */
function lastStatus(target: Target): RpcHealthConnection {
  let last = 'idle' as RpcHealthConnection;
  // `status` replays the last value synchronously, so this reads it without waiting.
  (target.status as Observable<RpcStatus>).subscribe((s) => (last = s)).unsubscribe();
  return last === 'unblocked' ? 'connected' : last;
}

function describeFailure(err: unknown): { code: string; message: string } {
  if (RpcError.is(err) || err instanceof HealthTimeout)
    return { code: err.code, message: scrub(err.message) };
  return { code: 'ERROR', message: scrub(err instanceof Error ? err.message : String(err)) };
}

/** Credentials in a URL never reach a health endpoint. */
function scrub(text: string): string {
  return text.replace(/\/\/[^\s/@]*@/g, '//***@');
}
