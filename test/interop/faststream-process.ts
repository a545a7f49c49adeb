// Runs test/interop/faststream_app.py (a real FastStream service) as a child process and talks to it
// over stdin/stdout, one JSON object a line.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VENV_PYTHON = `${ROOT}.brokers/py/bin/python`;
const APP = fileURLToPath(new URL('./faststream_app.py', import.meta.url));

/** The venv's python, or an error telling how to create it (the interop tests fail, never skip). */
export function venvPython(): string {
  if (!existsSync(VENV_PYTHON)) {
    throw new Error(
      `FastStream interop tests need the Python venv ${VENV_PYTHON}: run \`bash scripts/interop-env.sh\``,
    );
  }
  return VENV_PYTHON;
}

export interface FastStreamReply {
  id: number;
  /** The reply body as FastStream decoded it. */
  reply: unknown;
  correlation_id: string | null;
  content_type: string | null;
  headers: Record<string, string>;
}

/** A span FastStream's TelemetryMiddleware ended (faststream_app.py `--telemetry`), ids in W3C hex. */
export interface FastStreamSpan {
  name: string;
  kind: 'PRODUCER' | 'CONSUMER' | 'CLIENT' | 'SERVER' | 'INTERNAL';
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  attributes: Record<string, string | number | boolean>;
}

export class FastStreamApp {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<
    number,
    { resolve: (r: FastStreamReply) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  /** Every span the app reported, in the order they ended. */
  readonly spans: FastStreamSpan[] = [];
  private readonly spanWaiters = new Set<{
    match: (s: FastStreamSpan) => boolean;
    resolve: (s: FastStreamSpan) => void;
    reject: (e: Error) => void;
  }>();
  private stderr = '';
  private exited: Promise<number | null>;
  /** Resolves on the app's READY line; rejects if it exits first. */
  readonly ready: Promise<void>;

  /**
   * `args`: broker kind (`kafka` | `rabbit` | `nats`), URL, destination to serve, [Kafka reply topic].
   * `telemetry`: FastStream's TelemetryMiddleware on, its spans reported to `spans` / `span()`.
   */
  constructor(args: string[], { telemetry = false }: { telemetry?: boolean } = {}) {
    const argv = ['-u', APP, ...args, ...(telemetry ? ['--telemetry'] : [])];
    this.child = spawn(venvPython(), argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8_000);
    });
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => ((onReady = resolve), (onFail = reject)));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        const err = new Error(
          `FastStream app exited (code ${code}, signal ${signal}); stderr:\n${this.stderr}`,
        );
        onFail(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        for (const w of this.spanWaiters) w.reject(err);
        this.spanWaiters.clear();
        resolve(code);
      }),
    );
    this.child.on('error', (err) => onFail(err));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // not ours
      }
      if (msg.event === 'ready') return onReady();
      if (msg.event === 'span') return this.onSpan(msg.span as FastStreamSpan);
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`FastStream client: ${msg.error}`));
      else w.resolve(msg as FastStreamReply);
    });
  }

  private onSpan(span: FastStreamSpan): void {
    this.spans.push(span);
    for (const w of this.spanWaiters) {
      if (!w.match(span)) continue;
      this.spanWaiters.delete(w);
      w.resolve(span);
    }
  }

  /**
   * The first span FastStream ended that matches, now or once it ends; rejects if the app exits first
   * (the test's timeout bounds the wait).
   */
  span(match: (s: FastStreamSpan) => boolean): Promise<FastStreamSpan> {
    const seen = this.spans.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => this.spanWaiters.add({ match, resolve, reject }));
  }

  /** Makes the FastStream client call `destination` and resolves with the reply it decoded. */
  request(destination: string, body: unknown, opts: { correlationId?: string; timeoutS?: number } = {}) {
    const id = this.nextId++;
    const promise = new Promise<FastStreamReply>((resolve, reject) =>
      this.waiting.set(id, { resolve, reject }),
    );
    const cmd = {
      id,
      cmd: 'request',
      destination,
      body,
      correlation_id: opts.correlationId,
      timeout: opts.timeoutS ?? 20,
    };
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    return promise;
  }

  /** Closes stdin (the app stops its broker and exits); kills it if it is not gone within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
