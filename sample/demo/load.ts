// A few seconds of GET /ping from several callers at once, with a live progress line.
import { count, LiveLine, note, step } from './print.js';

export interface LoadOptions {
  durationMs: number;
  concurrency: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

export async function load(base: string, { durationMs, concurrency }: LoadOptions): Promise<boolean> {
  step(undefined, 'load', `GET /ping for ${durationMs / 1000} s, ${concurrency} requests at once`);
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  const live = new LiveLine();
  const progress = setInterval(() => {
    const elapsed = performance.now() - started;
    const text = `${(elapsed / 1000).toFixed(1)} s  ${count(latencies.length)} requests  ${count((latencies.length / elapsed) * 1000)} req/s`;
    live.update(text, elapsed);
  }, 100);

  const caller = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/ping`);
        const body = (await res.json()) as { reply?: unknown };
        if (res.status !== 200 || body.reply !== 'pong')
          failures.push(`${res.status} ${JSON.stringify(body)}`);
        else latencies.push(performance.now() - t0);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsed = performance.now() - started;
  clearInterval(progress);
  live.done();

  latencies.sort((a, b) => a - b);
  const ok = failures.length === 0 && latencies.length > 0;
  step(ok, '', `${count(latencies.length)} requests, ${failures.length} failed`);
  note(
    `${count((latencies.length / elapsed) * 1000)} req/s · p50 ${ms(percentile(latencies, 50))} · p99 ${ms(percentile(latencies, 99))}`,
  );
  for (const failure of [...new Set(failures)].slice(0, 3))
    note(`expected 200 {"reply":"pong"}, got ${failure}`);
  return ok;
}
