import { checkTimeout, DEFAULT_DEADLINE_GRACE } from './options.js';
import { LogThrottle } from './log-throttle.js';
import { type HeaderMap, Headers, type InboundMessage } from './wire.js';

/**
 * Request deadlines. A client stamps each request with the wall-clock time its caller stops waiting
 * for the first reply (`rpc-deadline`, epoch ms; none with timeout 0); a server drops a request whose
 * deadline, plus `deadlineGrace` for clock skew, has passed before its handler starts. Later stream
 * frames are not bound by it: the caller waits `timeout` for each of them.
 */
export function stampDeadline(headers: HeaderMap, timeoutMs: number, now = Date.now()): void {
  if (timeoutMs > 0) headers[Headers.deadline] = String(now + timeoutMs);
}

/** The deadline a message carries, in epoch ms; `undefined` when it has none or it is not a decimal integer. */
export function deadlineOf(headers: HeaderMap): number | undefined {
  const value = headers[Headers.deadline];
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  return Number(value);
}

/** The server's side: tells whether a message must be dropped unhandled, and logs and counts it if so. */
export class DeadlineCheck {
  /** Milliseconds added to a deadline before it counts as passed. */
  readonly grace: number;
  private readonly log: LogThrottle;

  constructor(
    grace: number | undefined,
    warn: (line: string) => void,
    private readonly counted: () => void,
  ) {
    checkTimeout('deadlineGrace', grace);
    this.grace = grace ?? DEFAULT_DEADLINE_GRACE;
    this.log = new LogThrottle(warn);
  }

  /** Whether the message's deadline plus the grace has passed: then it is logged (throttled) and counted, and must not run. */
  passed(message: InboundMessage, now = Date.now()): boolean {
    const deadline = deadlineOf(message.headers);
    if (deadline === undefined || now < deadline + this.grace) return false;
    this.counted();
    this.log.warn(
      () =>
        `Dropped a request on "${message.destination}" without running its handler: its deadline passed ${now - deadline} ms ago`,
    );
    return true;
  }
}
