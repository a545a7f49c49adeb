import type { ChannelModel } from 'amqplib';

interface ConnectionInternals {
  stream?: { destroy?: (error?: Error) => void };
}

/**
 * Ends a connection's socket with an error, as a network failure would: amqplib then closes the
 * connection and its channels, stops its heartbeat and emits 'close'. amqplib has no forced close (its
 * `close()` waits for the broker's close-ok), so this reaches into its internal `connection.stream`;
 * test/unit/rabbitmq/amqplib-internals.spec.ts guards it. Returns whether it applied.
 */
export function cutSocket(model: ChannelModel, reason: string): boolean {
  // amqplib internals checked against amqplib 2.3.1
  const stream = (model as unknown as { connection?: ConnectionInternals }).connection?.stream;
  if (typeof stream?.destroy !== 'function') return false;
  stream.destroy(new Error(reason));
  return true;
}
