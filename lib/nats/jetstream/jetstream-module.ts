import { RpcConnectionError } from '../../core/errors.js';

type JetStreamModule = typeof import('@nats-io/jetstream');

/** `@nats-io/jetstream`, loaded in JetStream mode only: it is an optional peer, core NATS runs without it. */
export async function loadJetStream(): Promise<JetStreamModule> {
  try {
    return await import('@nats-io/jetstream');
  } catch (err) {
    throw new RpcConnectionError(
      'JetStream mode (option `jetstream`) needs the optional peer @nats-io/jetstream: npm install @nats-io/jetstream',
      { cause: err },
    );
  }
}
