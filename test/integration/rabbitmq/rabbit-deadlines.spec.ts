import { afterAll, describe } from 'vitest';
import { deadlineConformance } from '../support/deadline-conformance.js';
import { rabbitTarget } from './rabbit-edge-target.js';

describe('RabbitMQ deadlines', () => {
  const target = rabbitTarget();
  afterAll(() => target.cleanUp?.());
  deadlineConformance(target);
});
