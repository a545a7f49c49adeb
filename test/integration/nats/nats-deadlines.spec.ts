import { describe } from 'vitest';
import { deadlineConformance } from '../support/deadline-conformance.js';
import { natsTarget } from './nats-edge-target.js';

describe('NATS deadlines', () => {
  deadlineConformance(natsTarget());
});
