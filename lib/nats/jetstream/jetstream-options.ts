import { checkPositiveInt } from '../../core/integer-checks.js';

/** JetStream mode of a NATS server: where requests are stored and how they are redelivered. */
export interface JetStreamServerOptions {
  /** The stream that stores requests and events. Default `DEFAULT_JETSTREAM_STREAM`. */
  stream?: string;
  /**
   * Create the stream when it is missing, and add the handlers' subjects to it when it lacks them.
   * `false`: use it as it is, and fail `listen()` when it is missing or does not capture a subject.
   * Default `true`.
   */
  createStream?: boolean;
  /** Storage of a stream the server creates. Default `'file'`. */
  storage?: 'file' | 'memory';
  /** Retention of a stream the server creates. Default `'workqueue'` (a message is gone once acked). */
  retention?: 'workqueue' | 'limits' | 'interest';
  /** Prefix of the durable consumer names, one consumer per handler. Default `DEFAULT_JETSTREAM_CONSUMER_PREFIX`. */
  consumerPrefix?: string;
  /** Milliseconds a delivered message may stay unacked before it is redelivered. Default `DEFAULT_JETSTREAM_ACK_WAIT` (30 s). */
  ackWait?: number;
  /** Milliseconds between `working` acks while a message waits or its handler runs. Default `ackWait / 3`. */
  workingInterval?: number;
  /**
   * Deliveries of one message before it is dead-lettered (a worker died on it each time, or an
   * event handler failed each time). Default `DEFAULT_JETSTREAM_MAX_DELIVER`.
   */
  maxDeliver?: number;
  /** Milliseconds before a failed event is delivered again. Default `DEFAULT_JETSTREAM_RETRY_DELAY` (1 s). */
  retryDelay?: number;
  /** Subject dead letters are published to; `false` drops them (logged). Default `DEFAULT_JETSTREAM_DEAD_LETTER_SUBJECT`. */
  deadLetterSubject?: string | false;
  /**
   * Stream that stores the dead letters, created when missing (with `createStream`); `false`: the
   * subject is published to without a stream of ours. Default `DEFAULT_JETSTREAM_DEAD_LETTER_STREAM`.
   */
  deadLetterStream?: string | false;
}

/** JetStream mode of a NATS client: requests and events are published to a stream, with its publish ack. */
export interface JetStreamClientOptions {
  /** The stream expected to capture the requests: a publish stored by another stream fails. Default: any stream. */
  stream?: string;
  /** Milliseconds to wait for the stream's publish ack. Default `DEFAULT_JETSTREAM_PUBLISH_TIMEOUT` (5 s). */
  publishTimeout?: number;
}

export const DEFAULT_JETSTREAM_STREAM = 'RPC_REQUESTS';
export const DEFAULT_JETSTREAM_CONSUMER_PREFIX = 'rpc';
export const DEFAULT_JETSTREAM_ACK_WAIT = 30_000; // thirty seconds
export const DEFAULT_JETSTREAM_MAX_DELIVER = 5;
export const DEFAULT_JETSTREAM_RETRY_DELAY = 1_000; // one second
export const DEFAULT_JETSTREAM_DEAD_LETTER_SUBJECT = 'rpc.dead-letter';
export const DEFAULT_JETSTREAM_DEAD_LETTER_STREAM = 'RPC_DEAD_LETTER';
export const DEFAULT_JETSTREAM_PUBLISH_TIMEOUT = 5_000; // five seconds

export type ResolvedJetStreamServerOptions = Required<JetStreamServerOptions>;
export type ResolvedJetStreamClientOptions = Required<Omit<JetStreamClientOptions, 'stream'>> &
  Pick<JetStreamClientOptions, 'stream'>;

/** Stream and consumer names may not hold these (nats-server refuses them). */
const BAD_NAME = /[\s.*>/\\]/;

/** The server's JetStream options with their defaults, checked; `undefined` when the mode is off. */
export function resolveJetStreamServerOptions(
  option: boolean | JetStreamServerOptions | undefined,
): ResolvedJetStreamServerOptions | undefined {
  if (option === undefined || option === false) return undefined;
  const o = option === true ? {} : option;
  for (const name of ['ackWait', 'workingInterval', 'maxDeliver', 'retryDelay'] as const)
    checkPositiveInt(`jetstream.${name}`, o[name]);
  const ackWait = o.ackWait ?? DEFAULT_JETSTREAM_ACK_WAIT;
  const workingInterval = o.workingInterval ?? Math.max(1, Math.floor(ackWait / 3));
  if (workingInterval >= ackWait)
    throw new RangeError(
      `jetstream.workingInterval (${workingInterval}) must be shorter than jetstream.ackWait (${ackWait})`,
    );
  const resolved: ResolvedJetStreamServerOptions = {
    stream: o.stream ?? DEFAULT_JETSTREAM_STREAM,
    createStream: o.createStream ?? true,
    storage: o.storage ?? 'file',
    retention: o.retention ?? 'workqueue',
    consumerPrefix: o.consumerPrefix ?? DEFAULT_JETSTREAM_CONSUMER_PREFIX,
    ackWait,
    workingInterval,
    maxDeliver: o.maxDeliver ?? DEFAULT_JETSTREAM_MAX_DELIVER,
    retryDelay: o.retryDelay ?? DEFAULT_JETSTREAM_RETRY_DELAY,
    deadLetterSubject: o.deadLetterSubject ?? DEFAULT_JETSTREAM_DEAD_LETTER_SUBJECT,
    deadLetterStream: o.deadLetterStream ?? DEFAULT_JETSTREAM_DEAD_LETTER_STREAM,
  };
  checkName('jetstream.stream', resolved.stream);
  checkName('jetstream.consumerPrefix', resolved.consumerPrefix);
  if (resolved.deadLetterStream !== false) checkName('jetstream.deadLetterStream', resolved.deadLetterStream);
  if (resolved.deadLetterStream !== false && resolved.deadLetterStream === resolved.stream)
    throw new RangeError(
      `jetstream.deadLetterStream must differ from jetstream.stream ("${resolved.stream}")`,
    );
  return resolved;
}

/** The client's JetStream options with their defaults, checked; `undefined` when the mode is off. */
export function resolveJetStreamClientOptions(
  option: boolean | JetStreamClientOptions | undefined,
): ResolvedJetStreamClientOptions | undefined {
  if (option === undefined || option === false) return undefined;
  const o = option === true ? {} : option;
  checkPositiveInt('jetstream.publishTimeout', o.publishTimeout);
  if (o.stream !== undefined) checkName('jetstream.stream', o.stream);
  return {
    ...(o.stream !== undefined ? { stream: o.stream } : {}),
    publishTimeout: o.publishTimeout ?? DEFAULT_JETSTREAM_PUBLISH_TIMEOUT,
  };
}

function checkName(option: string, name: string): void {
  if (typeof name !== 'string' || name === '' || BAD_NAME.test(name))
    throw new RangeError(
      `${option} must be a non-empty name without spaces, ".", "*", ">", "/" or "\\", got "${name}"`,
    );
}

/** The durable consumer of one handler subject: the prefix plus the subject, with wildcards spelled out. */
export function consumerName(prefix: string, subject: string): string {
  return `${prefix}_${subject.replace(/\./g, '_').replace(/\*/g, 'STAR').replace(/>/g, 'GT')}`;
}
