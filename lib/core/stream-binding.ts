import { createHash, randomBytes } from 'node:crypto';
import { type HeaderMap, Headers } from './wire.js';

/**
 * Stream integrity, both ends of one rule (docs/wire-protocol.md, "Stream frames").
 *
 * A server stamps the frames of a stream with its responder id, an attempt id (new at every handling
 * of the request) and a sequence number. A client binds each stream to the responder and attempt of
 * the first frame it hears: frames of other responders are dropped (fan-out), a frame of another
 * attempt of the same responder means the request was redelivered (the stream failed, or restarts
 * when the caller opted in), and within the attempt the sequence must run 0, 1, 2, … (a repeat is a
 * broker duplicate and dropped; a jump is a lost or reordered frame and fails the stream). A request's
 * only reply (a single value, or an error before any value) carries no ids: first reply wins.
 */

/** A short, opaque responder id for a delivery target: the same parts give the same id on every instance. */
export function responderId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16);
}

/** A random id, for a server instance or an attempt. */
export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

/** The server's half: numbers the frames of one handling of a request. */
export class ReplyStamp {
  // drawn at the first stamped frame: most requests get one reply, which carries no ids, and a random
  // id per request was a tenth of the server's CPU at high request rates
  private attemptId?: string;
  private next = 0;
  private lastStamped = false;

  /** `onAttempt` hears the attempt id once, when the first frame carrying it is stamped. */
  constructor(
    private readonly responder: string,
    private readonly cancelTo?: string,
    private readonly onAttempt?: (attempt: string) => void,
  ) {}

  /** This handling's attempt id (drawn now if no frame carried it yet). */
  get attempt(): string {
    return (this.attemptId ??= randomId());
  }

  /** Whether a frame carrying the attempt id was stamped. */
  get started(): boolean {
    return this.attemptId !== undefined;
  }

  /** Adds the stream headers to a reply about to be published, unless it is the request's only reply. */
  stamp(headers: HeaderMap): void {
    const more = headers[Headers.stream] === 'next';
    this.lastStamped = more || this.next > 0;
    if (!this.lastStamped) return;
    if (this.attemptId === undefined) {
      this.attemptId = randomId();
      this.onAttempt?.(this.attemptId);
    }
    headers[Headers.responder] = this.responder;
    headers[Headers.attempt] = this.attemptId;
    headers[Headers.seq] = String(this.next++);
    if (more && this.cancelTo !== undefined) headers[Headers.cancelTo] = this.cancelTo;
  }

  /** The last stamped frame never left (refused as too large): the frame sent instead takes its number. */
  retract(): void {
    if (this.lastStamped) this.next--;
    this.lastStamped = false;
  }
}

/** What the client does with one reply of a request. */
export type FrameVerdict =
  | { action: 'deliver' }
  /** A newer attempt of the same responder, and the caller opted into restarting: deliver it. */
  | { action: 'restart' }
  | { action: 'drop'; why: 'other' | 'duplicate' }
  | { action: 'fail'; why: 'restarted' }
  | { action: 'fail'; why: 'gap'; expected: number; received: number };

const DELIVER: FrameVerdict = Object.freeze({ action: 'deliver' });
const RESTART: FrameVerdict = Object.freeze({ action: 'restart' });
const OTHER: FrameVerdict = Object.freeze({ action: 'drop', why: 'other' });
const DUPLICATE: FrameVerdict = Object.freeze({ action: 'drop', why: 'duplicate' });
const RESTARTED: FrameVerdict = Object.freeze({ action: 'fail', why: 'restarted' });

/** The client's half: the responder and attempt one stream is bound to, and the next frame it expects. */
export class StreamBinding {
  /** Bound to a peer that sends no ids: everything it sends is delivered, as before ids existed. */
  private anonymous = false;
  private responder?: string;
  private attempt?: string;
  private expected = 0;
  /** Attempts given up for a newer one (restart): their late frames are dropped, not taken as newer. */
  private abandoned?: Set<string>;
  /** Where the bound attempt takes a cancel message, if it said so. */
  private cancelTo?: string;
  /** The bound attempt sent its last frame: nothing to cancel. */
  private ended = false;
  /** Attempts this stream will not read (another responder's, a rejected newer one), to cancel. */
  private unwanted?: Map<string, string>;
  private cancelled?: Set<string>;

  constructor(private readonly restart: boolean) {}

  /** Judges one reply; a delivered terminal frame (final value, `end`, error) ends the bound attempt. */
  admit(headers: HeaderMap): FrameVerdict {
    const verdict = this.judge(headers);
    if (verdict.action === 'drop' && verdict.why === 'other') this.unwant(headers);
    else if (verdict.action === 'fail' && verdict.why === 'restarted') this.unwant(headers);
    else if (verdict.action !== 'drop' && verdict.action !== 'fail' && headers[Headers.stream] !== 'next')
      this.ended = true;
    return verdict;
  }

  /**
   * The attempts to send a cancel message to, `{ attempt: cancelTo }`, taken once each: those this
   * stream will not read and, once the caller left (`left`), the bound one unless it ended.
   */
  takeCancels(left: boolean): Map<string, string> | undefined {
    if (left && !this.ended && this.attempt !== undefined && this.cancelTo !== undefined)
      (this.unwanted ??= new Map()).set(this.attempt, this.cancelTo);
    const out = this.unwanted;
    this.unwanted = undefined;
    if (out) for (const attempt of out.keys()) (this.cancelled ??= new Set()).add(attempt);
    return out;
  }

  private unwant(headers: HeaderMap): void {
    const attempt = headers[Headers.attempt];
    const to = headers[Headers.cancelTo];
    if (attempt === undefined || to === undefined || this.cancelled?.has(attempt)) return;
    (this.unwanted ??= new Map()).set(attempt, to);
  }

  private judge(headers: HeaderMap): FrameVerdict {
    const responder = headers[Headers.responder];
    const attempt = headers[Headers.attempt];
    const seq = parseSeq(headers[Headers.seq]);
    if (responder === undefined || attempt === undefined || seq === undefined) {
      if (this.responder !== undefined) return OTHER;
      this.anonymous = true;
      return DELIVER;
    }
    if (this.anonymous) return OTHER;
    if (this.responder === undefined) {
      this.responder = responder;
      return this.begin(attempt, seq, headers, DELIVER);
    }
    if (responder !== this.responder) return OTHER;
    if (attempt !== this.attempt) {
      if (this.abandoned?.has(attempt)) return OTHER;
      if (!this.restart) return RESTARTED;
      (this.abandoned ??= new Set()).add(this.attempt!);
      return this.begin(attempt, seq, headers, RESTART);
    }
    if (seq < this.expected) return DUPLICATE;
    if (seq > this.expected) return { action: 'fail', why: 'gap', expected: this.expected, received: seq };
    this.expected++;
    this.cancelTo = headers[Headers.cancelTo] ?? this.cancelTo;
    return DELIVER;
  }

  private begin(attempt: string, seq: number, headers: HeaderMap, verdict: FrameVerdict): FrameVerdict {
    this.attempt = attempt;
    this.cancelTo = headers[Headers.cancelTo];
    if (seq !== 0) return { action: 'fail', why: 'gap', expected: 0, received: seq };
    this.expected = 1;
    return verdict;
  }
}

function parseSeq(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}
