// Steady RPC traffic for the chaos suite: a request every few milliseconds (every fourth a stream),
// each with its own outcome: answered with the right values, failed with a typed error, mismatched
// (a wrong, missing or extra value) or hung (no outcome by its timeout plus a margin; for a stream,
// whose timeout runs again from each value, no value or outcome for that long).
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, type ClientProxy } from '@nestjs/microservices';
import { from, lastValueFrom, tap, toArray, type Observable } from 'rxjs';
import { RpcError } from '../../lib/index.js';

/** Requests per second the suite keeps up. */
export const DEFAULT_RATE = 200;
/** The client's request timeout in the suite, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;
/** Extra time past the timeout before a request without an outcome counts as hung. */
export const HUNG_MARGIN_MS = 2_000;

export type Kind = 'ok' | 'error' | 'mismatch' | 'hung';

export interface Outcome {
  id: number;
  sentAt: number;
  doneAt: number;
  kind: Kind;
  code?: string;
}

/** The handlers the traffic calls: `chaos.double` (2n) and `chaos.stream` (n, n+1, n+2). */
@Controller()
export class ChaosController {
  @MessagePattern('chaos.double')
  double(@Payload() n: number): number {
    return 2 * n;
  }

  @MessagePattern('chaos.stream')
  stream(@Payload() n: number): Observable<number> {
    return from([n, n + 1, n + 2]);
  }
}

const expected = (id: number) => (id % 4 === 0 ? [id, id + 1, id + 2] : [2 * id]);

export class Traffic {
  readonly outcomes: Outcome[] = [];
  private sent = 0;
  private inflight = new Set<Promise<void>>();
  /** Send times of the requests without an outcome yet, by id. */
  private pending = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: ClientProxy,
    private readonly rate = DEFAULT_RATE,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  start(): void {
    const perTick = Math.max(1, Math.round(this.rate / 100));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.one(this.sent++);
    }, 10);
  }

  /** Stops sending and waits for every request's outcome. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
  }

  private one(id: number): void {
    const sentAt = Date.now();
    this.pending.set(id, sentAt);
    const pattern = id % 4 === 0 ? 'chaos.stream' : 'chaos.double';
    let hungTimer: NodeJS.Timeout | undefined;
    const hung = new Promise<Omit<Outcome, 'id' | 'sentAt'>>((resolve) => {
      hungTimer = setTimeout(
        () => resolve({ kind: 'hung', doneAt: Date.now() }),
        this.timeoutMs + HUNG_MARGIN_MS,
      );
    });
    // the client's timeout runs again from each value of a stream: so does the hung margin
    const progress = tap(() => hungTimer?.refresh());
    const answer = lastValueFrom(this.client.send<number>(pattern, id).pipe(progress, toArray())).then(
      (values): Omit<Outcome, 'id' | 'sentAt'> => ({
        kind: JSON.stringify(values) === JSON.stringify(expected(id)) ? 'ok' : 'mismatch',
        doneAt: Date.now(),
      }),
      (err: unknown): Omit<Outcome, 'id' | 'sentAt'> =>
        RpcError.is(err)
          ? { kind: 'error', code: err.code, doneAt: Date.now() }
          : { kind: 'mismatch', code: `untyped ${(err as Error)?.name}`, doneAt: Date.now() },
    );
    const p = Promise.race([answer, hung]).then((o) => {
      clearTimeout(hungTimer);
      this.outcomes.push({ id, sentAt, ...o });
      this.pending.delete(id);
      this.inflight.delete(p);
    });
    this.inflight.add(p);
  }

  /**
   * Waits until the traffic is healthy again after `after`: every request sent more than `quietMs` ago
   * has an outcome, and all of the last `timeoutMs` of those after `after` succeeded.
   */
  async recovered(after: number, quietMs = 2_000, timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const now = Date.now();
      if (now - after < quietMs || this.pendingSentBefore(now - quietMs) > 0) continue;
      const since = Math.max(after, now - quietMs - this.timeoutMs);
      const recent = this.outcomes.filter((o) => o.sentAt > since);
      if (recent.length > 0 && recent.every((o) => o.kind === 'ok')) return true;
    }
    return false;
  }

  private pendingSentBefore(t: number): number {
    let n = 0;
    for (const sentAt of this.pending.values()) if (sentAt < t) n++;
    return n;
  }
}

export interface FaultFigures {
  fault: string;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  hung: number;
  mismatched: number;
  recoveryMs: number;
  detection: string;
}

/** The figures of the requests sent from `from` (the fault) to `to`. */
export function figures(
  traffic: Traffic,
  fault: string,
  detection: string,
  from: number,
  to: number,
): FaultFigures {
  const window = traffic.outcomes.filter((o) => o.sentAt >= from && o.sentAt < to);
  const errors: Record<string, number> = {};
  for (const o of window) if (o.kind === 'error') errors[o.code!] = (errors[o.code!] ?? 0) + 1;
  const bad = window.filter((o) => o.kind !== 'ok');
  const lastBadSent = bad.length ? Math.max(...bad.map((o) => o.sentAt)) : from;
  const firstOk = window
    .filter((o) => o.kind === 'ok' && o.sentAt >= lastBadSent)
    .reduce((min, o) => Math.min(min, o.doneAt), Infinity);
  return {
    fault,
    sent: window.length,
    ok: window.filter((o) => o.kind === 'ok').length,
    errors,
    hung: window.filter((o) => o.kind === 'hung').length,
    mismatched: window.filter((o) => o.kind === 'mismatch').length,
    recoveryMs: Number.isFinite(firstOk) ? firstOk - from : -1,
    detection,
  };
}

/** Outcomes per second since `from` (by kind and code): the failure message of a fault that does not recover. */
export function timeline(traffic: Traffic, from: number): string {
  const buckets = new Map<number, Record<string, number>>();
  for (const o of traffic.outcomes) {
    if (o.sentAt < from) continue;
    const s = Math.floor((o.sentAt - from) / 1000);
    const b = buckets.get(s) ?? {};
    const key = o.code ? `${o.kind}:${o.code}` : o.kind;
    b[key] = (b[key] ?? 0) + 1;
    buckets.set(s, b);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, b]) => `+${s}s ${JSON.stringify(b)}`)
    .join('\n');
}
