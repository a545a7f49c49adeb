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
  private readonly byAttempt = new Map<string, () => AbortController>();
  // a Map, not a WeakMap: entries live only until end(), and WeakMap entries cost the GC more per request
  private readonly byMessage = new Map<InboundMessage, Handling>();

  constructor(private readonly counts: RpcCounters<ServerCounter>) {}

  /** Starts tracking the handling of `message`; `maxDurationMs` 0 means no bound. */
  start(message: InboundMessage, eventMode: boolean, maxDurationMs: number): RunningStream {
    // Most handlers return one value and settle within streamReplies' subscribe, before anything reads
    // `signal`: the abort controller and the maxStreamDuration timer are made only for a stream that runs on.
    let controller: AbortController | undefined;
    let cancelTimer: (() => void) | undefined;
    let ended = false;
    const control = (): AbortController => {
      if (controller) return controller;
      const made = (controller = new AbortController());
      if (maxDurationMs > 0 && !ended)
        cancelTimer = afterAtLeast(maxDurationMs, () => {
          this.counts.increment('streamsExpired');
          const frame: ReplyFrame = {
            type: 'error',
            kind: 'stream-limit',
            error: {
              status: 'error',
              message: `The stream ran longer than the server's maxStreamDuration (${maxDurationMs} ms)`,
            },
          };
          made.abort(eventMode ? undefined : frame);
        });
      return made;
    };
    // a handling becomes cancellable once it streams: its first stamped frame names the attempt
    const stamp = eventMode
      ? undefined
      : new ReplyStamp(message.responder ?? this.instance, this.cancelTo, (attempt) =>
          this.byAttempt.set(attempt, control),
        );
    this.byMessage.set(message, { stamp, control });
    return {
      get signal() {
        return control().signal;
      },
      end: () => {
        ended = true;
        cancelTimer?.();
        this.byMessage.delete(message);
        if (stamp?.started) this.byAttempt.delete(stamp.attempt);
      },
    };
  }

  /** Adds the stream headers to a reply of `message` about to be published. */
  stamp(message: InboundMessage, headers: HeaderMap): void {
    this.byMessage.get(message)?.stamp?.stamp(headers);
  }

  /** The last reply stamped for `message` was refused before it left. */
  retract(message: InboundMessage): void {
    this.byMessage.get(message)?.stamp?.retract();
  }

  /** A caller's cancel message for `attempt`: stops that stream, sending nothing more. */
  cancel(attempt: string | undefined): boolean {
    const controller = attempt === undefined ? undefined : this.byAttempt.get(attempt)?.();
    if (!controller || controller.signal.aborted) return false;
    this.counts.increment('streamsCancelled');
    controller.abort();
    return true;
  }

  /** Stops the stream of `message`, sending nothing more: its request will be handled again elsewhere. */
  stop(message: InboundMessage): void {
    this.byMessage.get(message)?.control().abort();
  }

  /** Streams running now (handlings that sent a stamped frame and have not settled). */
  get size(): number {
    return this.byAttempt.size;
  }
}

/** What the server keeps of one handling: its stamp (none in event mode) and its abort controller, made on demand. */
interface Handling {
  readonly stamp?: ReplyStamp;
  readonly control: () => AbortController;
}
