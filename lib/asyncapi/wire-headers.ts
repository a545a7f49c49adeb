import type { RpcRemoteErrorKind } from '../core/errors.js';
import { Headers } from '../core/wire.js';
import type { AsyncApiHeaders } from './asyncapi-transport.js';

/** Every error kind of an `rpc-error` reply (docs/wire-protocol.md, *Errors*). */
export const ERROR_KINDS: readonly RpcRemoteErrorKind[] = Object.freeze([
  'exception',
  'internal',
  'no-handler',
  'bad-request',
  'too-large',
  'stream-limit',
  'overloaded',
  'shutting-down',
  'dead-lettered',
]);

/** The wire protocol's headers, described once; adapters pick the ones their broker carries as headers. */
export const HEADER_DOCS = {
  [Headers.contentType]: {
    description: 'MIME type of the body (`application/json`, `text/plain`, `application/octet-stream`).',
  },
  [Headers.correlationId]: {
    description: 'Correlation id, an opaque string; replies carry it back verbatim.',
  },
  [Headers.replyTo]: { description: 'Where the replies go.' },
  [Headers.deadline]: {
    description:
      'When the caller stops waiting for the first reply: epoch milliseconds, decimal. Absent: no deadline.',
  },
  [Headers.replyMode]: {
    description: '`event`: publish each result as a plain event to the reply address (reply-elsewhere).',
    enum: ['event'],
  },
  [Headers.error]: {
    description: 'Present on an error reply: the error kind. The body is the error payload.',
    enum: ERROR_KINDS,
  },
  [Headers.stream]: {
    description:
      '`next`: a stream value, more follow; `end`: empty body, the stream is complete. Absent: the final value.',
    enum: ['next', 'end'],
  },
  [Headers.responder]: { description: 'Stream replies: who answers (one opaque id per delivery target).' },
  [Headers.attempt]: { description: 'Stream replies: one opaque id per handling of the request.' },
  [Headers.seq]: { description: "Stream replies: the frame's position in its attempt, decimal from 0." },
  [Headers.cancelTo]: { description: 'Stream `next` replies: where the caller may send a cancel message.' },
  [Headers.retryCount]: {
    description: 'An event produced again after its handler failed: failures so far, decimal.',
  },
} as const satisfies AsyncApiHeaders;

/** Picks header docs by name, so each adapter lists what its broker carries. */
export function headerDocs(...names: Array<keyof typeof HEADER_DOCS>): AsyncApiHeaders {
  return Object.fromEntries(names.map((name) => [name, HEADER_DOCS[name]]));
}

/** Reply headers every broker carries as headers: errors and stream frames. */
export const REPLY_FRAME_HEADERS = [
  Headers.error,
  Headers.stream,
  Headers.responder,
  Headers.attempt,
  Headers.seq,
] as const;
