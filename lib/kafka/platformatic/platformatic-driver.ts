/**
 * `KafkaDriver` on `@platformatic/kafka`. Everything platformatic-specific lives in this folder.
 */
import { Admin } from '@platformatic/kafka';
import type { KafkaDriver } from '../driver/kafka-driver.js';
import type { KafkaConnectionOptions } from '../kafka-rpc.options.js';

export function createPlatformaticDriver(_options: KafkaConnectionOptions, _logContext: string): KafkaDriver {
  void Admin;
  throw new Error('The platformatic Kafka driver is not implemented yet');
}
