import { LogThrottle, quote } from './log-throttle.js';
import { Headers, type InboundMessage } from './wire.js';

/** `reply`: the replies to a `send()`; `event`: reply-elsewhere results (`rpc-reply-mode: event`). */
export type ReplyMode = 'reply' | 'event';

/** What a `replyTo.allow` predicate is told about the request that names the reply address. */
export interface ReplyAddressRequest {
  mode: ReplyMode;
  /** The handler's pattern (Nest's key). */
  pattern: string;
  /** The concrete destination the request arrived on. */
  destination: string;
}

/** An allowed reply address: exact, a glob in which `*` stands for any run of characters (dots included), or a RegExp. */
export type ReplyAddressPattern = string | RegExp;

/** A predicate deciding whether a server may publish to `address`. */
export type ReplyAddressPredicate = (address: string, request: ReplyAddressRequest) => boolean;

/** Server option `replyTo`: where a request may ask this server to publish its replies. */
export interface ReplyToOptions {
  /**
   * An allow-list: reply addresses (patterns, or a predicate) this server may publish to. Default:
   * none, every address is admitted except the server's own request destinations, which are refused
   * in any case (a reply loop).
   */
  allow?: readonly ReplyAddressPattern[] | ReplyAddressPredicate;
}

/** Whether a reply to `address` in `mode` would come back to this server as a request. */
export type LoopCheck = (address: string, mode: ReplyMode) => boolean;

/**
 * Decides whether a request's reply address may be published to. A reply address is the caller's
 * input: without a check, a caller makes the server publish, with the server's credentials, to any
 * queue, topic or subject, its own request destinations included.
 */
export class ReplyPolicy {
  private readonly allow?: ReplyAddressPredicate;
  private readonly log: LogThrottle;

  constructor(
    options: ReplyToOptions | undefined,
    warn: (text: string) => void,
    private readonly refused: () => void,
  ) {
    this.allow = compileAllow(options?.allow);
    this.log = new LogThrottle(warn);
  }

  /** True when the message's reply address may be published to; otherwise logs (throttled), counts, and returns false. */
  admits(message: InboundMessage, loopsBack: LoopCheck): boolean {
    const address = message.replyTo!;
    const mode: ReplyMode = message.headers[Headers.replyMode] === 'event' ? 'event' : 'reply';
    let why: string | undefined;
    if (loopsBack(address, mode)) why = "it is one of this server's own request destinations (a reply loop)";
    else if (this.allow) {
      try {
        if (!this.allow(address, { mode, pattern: message.pattern, destination: message.destination }))
          why = 'the replyTo.allow option does not admit it';
      } catch (err) {
        why = `the replyTo.allow predicate threw (${err instanceof Error ? err.message : String(err)})`;
      }
    }
    if (why === undefined) return true;
    this.refused();
    this.log.warn(
      () =>
        `Refused the reply address ${quote(address)} of a request on ${quote(message.destination)}: ${why}; the request is dropped unhandled`,
    );
    return false;
  }
}

function compileAllow(allow: ReplyToOptions['allow']): ReplyAddressPredicate | undefined {
  if (allow === undefined) return undefined;
  if (typeof allow === 'function') return allow;
  if (!Array.isArray(allow))
    throw new TypeError('replyTo.allow must be an array of strings and RegExps, or a function');
  const tests = allow.map((p: unknown) => {
    if (typeof p === 'string') return globTest(p);
    if (p instanceof RegExp) {
      const re = new RegExp(p.source, p.flags.replace(/[gy]/g, '')); // stateless: no lastIndex between calls
      return (address: string) => re.test(address);
    }
    throw new TypeError(`replyTo.allow entries must be strings or RegExps, got ${typeof p}`);
  });
  return (address) => tests.some((test) => test(address));
}

function globTest(glob: string): (address: string) => boolean {
  if (!glob.includes('*')) return (address) => address === glob;
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (address) => re.test(address);
}
