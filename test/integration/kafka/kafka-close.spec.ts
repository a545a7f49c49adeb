import { afterAll, describe } from 'vitest';
import { closeConformance } from '../support/close-conformance.js';
import { kafkaTarget } from './kafka-edge-target.js';

describe('Kafka close', () => {
  const target = kafkaTarget('close');
  afterAll(() => target.cleanUp?.());
  closeConformance(target);
});
