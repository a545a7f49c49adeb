import type {
  AckPolicy,
  DeliverPolicy,
  JetStreamManager,
  RetentionPolicy,
  StorageType,
  StreamInfo,
} from '@nats-io/jetstream';
import type { RpcErrorCode } from '../../core/errors.js';
import { subjectMatches } from '../../core/subjects.js';
import type { ResolvedJetStreamServerOptions } from './jetstream-options.js';

/**
 * A stream or consumer could not be used as configured: missing where `createStream: false` asked to
 * use it as it is, not capturing a handler's subject, or a consumer with another filter. Not an
 * `RpcError`, so that `listen()` wraps it in an `RpcConnectionError` (it is that error's `cause`).
 */
export class JetStreamTopologyError extends Error {
  override name = 'JetStreamTopologyError';
  readonly code: RpcErrorCode = 'RPC_TOPOLOGY';
  constructor(
    readonly kind: 'stream' | 'consumer',
    readonly entity: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NANOS_PER_MS = 1_000_000;
// JetStream API error codes (the type-only import keeps @nats-io/jetstream an optional peer)
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/** Whether nats.js failed with this JetStream API error code. */
function isApiError(err: unknown, code: number): boolean {
  return (
    (err as { code?: unknown } | null)?.code === code &&
    typeof (err as { apiError?: unknown }).apiError === 'function'
  );
}

/** Whether one of the stream's subjects captures every message on `subject` (a wildcard included). */
function captures(streamSubjects: readonly string[], subject: string): boolean {
  return streamSubjects.some((s) => s === subject || subjectMatches(s, subject));
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, STREAM_NOT_FOUND)) return undefined;
    throw err;
  }
}

/**
 * The request stream, capturing every handler subject: created when missing, or given the subjects
 * it lacks (with `createStream`); else checked, with an error naming what is missing.
 */
export async function ensureRequestStream(
  jsm: JetStreamManager,
  o: ResolvedJetStreamServerOptions,
  subjects: readonly string[],
): Promise<void> {
  const info = await streamInfo(jsm, o.stream);
  if (!info) {
    if (!o.createStream)
      throw new JetStreamTopologyError(
        'stream',
        o.stream,
        `JetStream stream "${o.stream}" does not exist (jetstream.createStream is false)`,
      );
    await jsm.streams.add({
      name: o.stream,
      subjects: [...subjects],
      retention: o.retention as RetentionPolicy,
      storage: o.storage as StorageType,
    });
    return;
  }
  const have = info.config.subjects ?? [];
  const missing = subjects.filter((s) => !captures(have, s));
  if (missing.length === 0) return;
  if (!o.createStream)
    throw new JetStreamTopologyError(
      'stream',
      o.stream,
      `JetStream stream "${o.stream}" does not capture ${missing.map((s) => `"${s}"`).join(', ')} (jetstream.createStream is false)`,
    );
  await jsm.streams.update(o.stream, { ...info.config, subjects: [...have, ...missing] });
}

/** The dead-letter stream capturing the dead-letter subject, created when missing (limits retention). */
export async function ensureDeadLetterStream(
  jsm: JetStreamManager,
  o: ResolvedJetStreamServerOptions,
): Promise<void> {
  if (o.deadLetterSubject === false || o.deadLetterStream === false) return;
  const info = await streamInfo(jsm, o.deadLetterStream);
  if (info) {
    if (!captures(info.config.subjects ?? [], o.deadLetterSubject))
      throw new JetStreamTopologyError(
        'stream',
        o.deadLetterStream,
        `Dead-letter stream "${o.deadLetterStream}" does not capture "${o.deadLetterSubject}"`,
      );
    return;
  }
  if (!o.createStream)
    throw new JetStreamTopologyError(
      'stream',
      o.deadLetterStream,
      `Dead-letter stream "${o.deadLetterStream}" does not exist (jetstream.createStream is false)`,
    );
  await jsm.streams.add({
    name: o.deadLetterStream,
    subjects: [o.deadLetterSubject],
    retention: 'limits' as RetentionPolicy,
    storage: o.storage as StorageType,
  });
}

/**
 * The durable pull consumer of one handler subject, with explicit acks: created when missing, its
 * ack wait and delivery limit brought in line when it exists; one with another filter is refused.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  o: ResolvedJetStreamServerOptions,
  durable: string,
  subject: string,
): Promise<void> {
  const wanted = {
    ack_wait: o.ackWait * NANOS_PER_MS,
    // one delivery more than maxDeliver: the server sees it and dead-letters it instead of handling it
    max_deliver: o.maxDeliver + 1,
  };
  try {
    const info = await jsm.consumers.info(o.stream, durable);
    if (info.config.filter_subject !== subject)
      throw new JetStreamTopologyError(
        'consumer',
        durable,
        `JetStream consumer "${durable}" on stream "${o.stream}" filters "${info.config.filter_subject ?? ''}", not "${subject}"`,
      );
    if (info.config.ack_wait !== wanted.ack_wait || info.config.max_deliver !== wanted.max_deliver)
      await jsm.consumers.update(o.stream, durable, wanted);
    return;
  } catch (err) {
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
  }
  await jsm.consumers.add(o.stream, {
    durable_name: durable,
    filter_subject: subject,
    ack_policy: 'explicit' as AckPolicy,
    deliver_policy: 'all' as DeliverPolicy,
    ...wanted,
  });
}
