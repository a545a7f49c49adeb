import { afterAll, describe } from 'vitest';
import { closeConformance } from '../support/close-conformance.js';
import { rabbitTarget } from './rabbit-edge-target.js';

describe('RabbitMQ close', () => {
  const target = rabbitTarget();
  afterAll(() => target.cleanUp?.());
  closeConformance(target);
});
