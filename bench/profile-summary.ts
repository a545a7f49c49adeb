// Sums a V8 CPU profile (`npm run bench -- --cpu-prof` writes them to bench/results/profiles/) by where
// the time went: each package under node_modules, each file of ours, Node's internals, GC.
// Run: node --import ./scripts/register-ts.mjs bench/profile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The bucket a function's self time goes to. */
export function category(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : `(${functionName || 'anonymous'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(lib\/.+|bench\/[^/]+\.ts)$/.exec(url);
  if (ours) return ours[1]!;
  return url;
}

/** Self time per bucket, in ms, largest first (`byFunction`: per function of the bucket). */
export function summarise(profile: Profile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const key = node ? category(node.callFrame.url, node.callFrame.functionName) : '(unknown)';
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = '15'] = process.argv.slice(2);
  const rows = summarise(JSON.parse(readFileSync(file!, 'utf8')) as Profile);
  const busy = rows.filter(([k]) => k !== '(idle)').reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`busy ${busy.toFixed(0)} ms (idle excluded)`);
  for (const [key, ms] of rows.filter(([k]) => k !== '(idle)').slice(0, Number(top)))
    console.log(`${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(7)} ms  ${key}`);
}
