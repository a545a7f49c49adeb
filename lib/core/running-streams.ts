import { afterAtLeast } from './clock.js';
import type { RpcCounters, ServerCounter } from './counters.js';
import type { ReplyFrame } from './reply-stream.js';
import { randomId, ReplyStamp } from './stream-binding.js';
import type { HeaderMap, InboundMessage } from './wire.js';

/** One handling of a request whose replies are being streamed. */
export interface RunningStream {
  /** Aborted when the stream is to stop: its caller cancelled, or it ran too long. */
  readonly signal: AbortSignal;
  /** The stream settled: forget it. */
  end(): void;
}

/**
 * The server's streams in flight: stamps their frames (`stream-binding.ts`), stops one when its
 * caller sends a cancel message naming its attempt, and stops any that runs past `maxStreamDuration`.
 */
export class RunningStreams {
  /** This server instance's responder id, for adapters that name no other. */
  readonly instance = randomId();
  /** Where callers send cancel messages; set by an adapter that takes them. */
  cancelTo?: string;
  private readonly byAttempt = new Map<string, AbortController>();
  private readonly stamps = new WeakMap<InboundMessage, ReplyStamp>();
  private readonly byMessage = new WeakMap<InboundMessage, AbortController>();

  constructor(private readonly counts: RpcCounters<ServerCounter>) {}

  /** Starts tracking the handling of `message`; `maxDurationMs` 0 means no bound. */
  start(message: InboundMessage, eventMode: boolean, maxDurationMs: number): RunningStream {
    const controller = new AbortController();
    this.byMessage.set(message, controller);
    let attempt: string | undefined;
    if (!eventMode) {
      const stamp = new ReplyStamp(message.responder ?? this.instance, this.cancelTo);
      this.stamps.set(message, stamp);
      attempt = stamp.attempt;
      this.byAttempt.set(attempt, controller);
    }
    const cancelTimer =
      maxDurationMs > 0
        ? afterAtLeast(maxDurationMs, () => {
            this.counts.increment('streamsExpired');
            const frame: ReplyFrame = {
              type: 'error',
              kind: 'stream-limit',
              error: {
                status: 'error',
                message: `The stream ran longer than the server's maxStreamDuration (${maxDurationMs} ms)`,
              },
            };
            controller.abort(eventMode ? undefined : frame);
          })
        : undefined;
    return {
      signal: controller.signal,
      end: () => {
        cancelTimer?.();
        if (attempt !== undefined) this.byAttempt.delete(attempt);
      },
    };
  }

  /** Adds the stream headers to a reply of `message` about to be published. */
  stamp(message: InboundMessage, headers: HeaderMap): void {
    this.stamps.get(message)?.stamp(headers);
  }

  /** The last reply stamped for `message` was refused before it left. */
  retract(message: InboundMessage): void {
    this.stamps.get(message)?.retract();
  }

  /** A caller's cancel message for `attempt`: stops that stream, sending nothing more. */
  cancel(attempt: string | undefined): boolean {
    const controller = attempt === undefined ? undefined : this.byAttempt.get(attempt);
    if (!controller || controller.signal.aborted) return false;
    this.counts.increment('streamsCancelled');
    controller.abort();
    return true;
  }

  /** Stops the stream of `message`, sending nothing more: its request will be handled again elsewhere. */
  stop(message: InboundMessage): void {
    this.byMessage.get(message)?.abort();
  }

  /** Streams running now. */
  get size(): number {
    return this.byAttempt.size;
  }
}
