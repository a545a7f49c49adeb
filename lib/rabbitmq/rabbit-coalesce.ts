import type { ChannelModel } from 'amqplib';

interface MuxInternals {
  _readIncoming?: () => void;
}
interface ConnectionInternals {
  muxer?: MuxInternals;
  stream?: { cork?: () => void; uncork?: () => void };
}

const PATCHED = Symbol.for('nestjs-broker-rpc.rabbit.coalesce');

/**
 * Makes amqplib write each batch of frames to the socket in one `writev` instead of one syscall per
 * frame. amqplib's multiplexer drains every channel's frames in one pass, writing them one by one; with
 * TCP_NODELAY each write is its own syscall and packet (three per request/reply round trip). Corking the
 * socket for the pass coalesces them. This reaches into amqplib internals (`connection.muxer`,
 * `connection.stream`), so it checks they look as expected and otherwise leaves the connection as it is.
 * Returns whether it applied.
 */
export function coalesceWrites(model: ChannelModel): boolean {
  // amqplib internals checked against amqplib 2.3.1; test/unit/rabbitmq/amqplib-internals.spec.ts guards them
  const connection = (model as unknown as { connection?: ConnectionInternals }).connection;
  const mux = connection?.muxer;
  const stream = connection?.stream;
  if (
    !mux ||
    typeof mux._readIncoming !== 'function' ||
    typeof stream?.cork !== 'function' ||
    typeof stream.uncork !== 'function'
  ) {
    return false;
  }
  if ((mux as Record<symbol, unknown>)[PATCHED]) return true;
  const readIncoming = mux._readIncoming.bind(mux);
  mux._readIncoming = () => {
    stream.cork!();
    try {
      readIncoming();
    } finally {
      stream.uncork!();
    }
  };
  (mux as Record<symbol, unknown>)[PATCHED] = true;
  return true;
}
