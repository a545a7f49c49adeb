import { afterAll, describe } from 'vitest';
import { closeConformance } from '../support/close-conformance.js';
import { natsTarget } from './nats-edge-target.js';

describe('NATS close', () => {
  const target = natsTarget();
  afterAll(() => target.cleanUp?.());
  closeConformance(target);
});
