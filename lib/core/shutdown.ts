import { Observable, type Subscription } from 'rxjs';
import { afterAtLeast } from './clock.js';

/** The payload of the `shutting-down` error reply to a request turned away at close: its handler never ran. */
export const NOT_HANDLED_AT_CLOSE = Object.freeze({
  status: 'error',
  message: 'The server is shutting down; the request was not handled',
});
/** The payload of the `shutting-down` error that ends a stream cut at close: its handler ran. */
export const STREAM_STOPPED_AT_CLOSE = Object.freeze({
  status: 'error',
  message: 'The server is shutting down; the stream was stopped',
});

/** Milliseconds `close()` waits for the error replies of the streams it cut before closing the connection. */
export const DEFAULT_STREAM_CUT_WAIT = 1_000; // one second

/** The error a stream cut at close ends with; the server answers it with a `shutting-down` error reply. */
export class ServerShuttingDown extends Error {
  constructor() {
    super(STREAM_STOPPED_AT_CLOSE.message);
    this.name = 'ServerShuttingDown';
  }
}

interface RunningStream {
  cut(): void;
  done: Promise<unknown>;
}

/**
 * What `close()` does to work that is not finished: turns away messages whose handler had not started
 * (once intake has stopped, so a requeued message is not handed straight back to this server), and cuts
 * the streams still running when `closeTimeout` ends, so that no handler outlives the server.
 */
export class ShutdownControl {
  private readonly streams = new Set<RunningStream>();
  private readonly refusals = new Set<Promise<unknown>>();
  private markIntakeStopped!: () => void;
  private readonly intakeStopped = new Promise<void>((resolve) => (this.markIntakeStopped = resolve));

  /** Runs `consume` over `stream$`, which `cutStreams()` can end with `ServerShuttingDown`. */
  track<T>(stream$: Observable<unknown>, consume: (stream$: Observable<unknown>) => Promise<T>): Promise<T> {
    let cut = false;
    let stop: (() => void) | undefined;
    const cuttable = new Observable<unknown>((subscriber) => {
      if (cut) return subscriber.error(new ServerShuttingDown());
      // an observer of its own, not `subscriber`: unsubscribing the source must leave `subscriber` open to be errored
      const inner: Subscription = stream$.subscribe({
        next: (value) => subscriber.next(value),
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      stop = () => {
        inner.unsubscribe();
        subscriber.error(new ServerShuttingDown());
      };
      return inner;
    });
    const entry: RunningStream = {
      cut: () => {
        cut = true;
        stop?.();
      },
      done: Promise.resolve(),
    };
    this.streams.add(entry);
    const done = consume(cuttable).finally(() => this.streams.delete(entry));
    entry.done = done;
    return done;
  }

  /** Cuts every running stream; resolves once their consumers settled, or after `waitMs`. Returns how many it cut. */
  async cutStreams(waitMs = DEFAULT_STREAM_CUT_WAIT): Promise<number> {
    const cut = [...this.streams];
    if (cut.length === 0) return 0;
    for (const stream of cut) stream.cut();
    let cancel: (() => void) | undefined;
    await Promise.race([
      Promise.allSettled(cut.map((s) => s.done)),
      new Promise<void>((resolve) => (cancel = afterAtLeast(waitMs, resolve))),
    ]);
    cancel?.();
    return cut.length;
  }

  /** Turns a message away: `turnAway` runs once intake has stopped. */
  refuse(turnAway: () => void | Promise<void>): Promise<void> {
    const done = this.intakeStopped.then(turnAway);
    const settled: Promise<unknown> = done.then(
      () => this.refusals.delete(settled),
      () => this.refusals.delete(settled),
    );
    this.refusals.add(settled);
    return done;
  }

  /** The adapter stopped taking messages: turned-away messages are handed back from now on. */
  stoppedIntake(): void {
    this.markIntakeStopped();
  }

  /** Resolves once every message turned away so far has been handed back. */
  async refused(): Promise<void> {
    while (this.refusals.size > 0) await Promise.allSettled([...this.refusals]);
  }
}
