// The Kafka driver the test run uses: TEST_KAFKA_DRIVER (`kafkajs` or `platformatic`), default the
// package's default. `useKafkaTestDriver()` makes every KafkaRpcServer and KafkaRpcClient built without a
// `driver` option use it, so the whole Kafka suite (and the processes it forks) runs on either driver.
import { createKafkaDriver } from '../../../lib/kafka/driver/create-driver.js';
import {
  DEFAULT_KAFKA_DRIVER,
  KafkaRpcClient,
  KafkaRpcServer,
  type KafkaDriverName,
  type KafkaRpcClientOptions,
} from '../../../lib/kafka/index.js';

export const KAFKA_TEST_DRIVER = (process.env.TEST_KAFKA_DRIVER || DEFAULT_KAFKA_DRIVER) as KafkaDriverName;

type WithOptions = { options: Pick<KafkaRpcClientOptions, 'client' | 'driver'>; createDriver(): unknown };

export function useKafkaTestDriver(): void {
  if (KAFKA_TEST_DRIVER === DEFAULT_KAFKA_DRIVER) return;
  for (const cls of [KafkaRpcServer, KafkaRpcClient]) {
    (cls.prototype as unknown as WithOptions).createDriver = function (this: WithOptions) {
      return createKafkaDriver(
        this.options.driver ?? KAFKA_TEST_DRIVER,
        this.options.client,
        this.constructor.name,
      );
    };
  }
}
