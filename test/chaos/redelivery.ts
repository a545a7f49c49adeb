// The chaos suite's "worker killed mid-request" fault, shared by the brokers that redeliver: a first
// worker process takes the request and holds it, a second one starts, the first is SIGKILLed, and the
// caller must get exactly one reply, from the second.
import { lastValueFrom, toArray } from 'rxjs';
import { expect } from 'vitest';
import type { ClientProxy } from '@nestjs/microservices';
import type { FaultFigures } from './traffic.js';
import { WorkerProcess } from './worker-process.js';

/** Runs the fault through `patient` (a client whose timeout outlasts the redelivery) and returns its figures. */
export async function killWorkerMidRequest(
  broker: string,
  target: string,
  patient: ClientProxy,
  detection: string,
): Promise<FaultFigures> {
  const first = await WorkerProcess.start(broker, target);
  const t = Date.now();
  const reply = lastValueFrom(patient.send<number>('chaos.held', 21).pipe(toArray()));
  await first.waitFor('held');
  const second = await WorkerProcess.start(broker, target, { CHAOS_WORKER_ANSWERS: '1' });
  await first.kill();
  const values = await reply;
  await second.kill();
  expect(values).toEqual([42]);
  return {
    fault: 'kill worker mid-request',
    sent: 1,
    ok: 1,
    errors: {},
    hung: 0,
    mismatched: 0,
    recoveryMs: Date.now() - t,
    detection,
  };
}
