// The chaos suite's figures per fault: a table on the console and in bench/results/chaos-<broker>.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FaultFigures } from './traffic.js';

export function table(rows: FaultFigures[]): string {
  const head = '| fault | sent | answered | typed errors | hung | mismatched | recovery | detection |';
  const line = '|---|--:|--:|---|--:|--:|--:|---|';
  const body = rows.map((r) => {
    const errors =
      Object.entries(r.errors)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ') || '0';
    const recovery = r.recoveryMs < 0 ? 'n/a' : `${(r.recoveryMs / 1000).toFixed(2)} s`;
    return `| ${r.fault} | ${r.sent} | ${r.ok} | ${errors} | ${r.hung} | ${r.mismatched} | ${recovery} | ${r.detection} |`;
  });
  return [head, line, ...body].join('\n');
}

/** Prints the table and writes it, with the run's settings, to bench/results/chaos-<broker>.md. */
export function writeReport(broker: string, settings: string[], rows: FaultFigures[]): string {
  const text = [
    `# Chaos run: ${broker}, ${new Date().toISOString()}`,
    '',
    ...settings.map((s) => `- ${s}`),
    '',
    table(rows),
    '',
  ].join('\n');
  const dir = resolve(import.meta.dirname, '../../bench/results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `chaos-${broker}.md`);
  writeFileSync(file, text);
  process.stdout.write(`\n${text}\n`);
  return file;
}
