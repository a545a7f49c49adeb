import { RpcContext } from '../core/rpc-context.js';
import type { KafkaRecord } from './driver/kafka-driver.js';

/** `@Ctx()` on Kafka: the topic, partition, offset and key of the request, besides the common accessors. */
export class KafkaRpcContext extends RpcContext<KafkaRecord> {
  getTopic(): string {
    return this.getMessage().topic;
  }
  getPartition(): number {
    return this.getMessage().partition;
  }
  getOffset(): string {
    return this.getMessage().offset;
  }
  /** The message key, or `null`. */
  getKey(): Buffer | null {
    return this.getMessage().key;
  }
  getTimestamp(): string {
    return this.getMessage().timestamp;
  }
}
