// Starts test/chaos/worker.ts as a child process and tells when it holds a request.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export class WorkerProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
  ) {}

  static async start(broker: string, target: string, env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const child = spawn(
      process.execPath,
      ['--import', './scripts/register-ts.mjs', 'test/chaos/worker.ts', broker, target],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const worker = new WorkerProcess(child, lineIterator(child));
    await worker.waitFor('ready');
    return worker;
  }

  /** Resolves with the first line starting with `prefix`; fails if the process ends first. */
  async waitFor(prefix: string): Promise<string> {
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) throw new Error(`worker exited before "${prefix}"`);
      if (value.startsWith(prefix)) return value;
    }
  }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}

async function* lines(child: ChildProcess): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of child.stdout!) {
    buffered += String(chunk);
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
    }
  }
}

function lineIterator(child: ChildProcess): AsyncIterator<string> {
  return lines(child)[Symbol.asyncIterator]();
}
