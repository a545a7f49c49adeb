// One fault of the chaos suite: inject it, wait for the traffic to recover, undo it, wait again, and
// keep the figures of the requests sent meanwhile (asserting none hung and none was mismatched).
import { expect } from 'vitest';
import { figures, timeline, type FaultFigures, type Traffic } from './traffic.js';

export async function runFault(
  traffic: Traffic,
  rows: FaultFigures[],
  name: string,
  detection: string,
  inject: () => Promise<() => Promise<void>>,
): Promise<FaultFigures> {
  const t = Date.now();
  const undo = await inject();
  const recovered = await traffic.recovered(t);
  const during = timeline(traffic, t);
  await undo();
  expect(recovered, `did not recover from "${name}":\n${during}`).toBe(true);
  const healed = Date.now();
  expect(
    await traffic.recovered(healed),
    `did not recover after undoing "${name}":\n${timeline(traffic, healed)}`,
  ).toBe(true);
  const f = figures(traffic, name, detection, t, Date.now());
  rows.push(f);
  expect(f.hung).toBe(0);
  expect(f.mismatched).toBe(0);
  return f;
}
