// Drives test/integration/support/flood-child.ts: a process whose heap a flood test measures.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FloodChildConfig } from './flood-child.js';

export interface HeapFigures {
  heapUsed: number;
  arrayBuffers: number;
  /** heapUsed + arrayBuffers: message bodies are Buffers, outside V8's heap. */
  total: number;
}

export interface FloodChild {
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  heap(): Promise<HeapFigures>;
  kill(): void;
}

/** Starts the child with `global.gc` available and waits until it is ready (listening, or connected). */
export async function startFloodChild(config: FloodChildConfig): Promise<FloodChild> {
  const child: ChildProcess = fork(
    fileURLToPath(new URL('./flood-child.ts', import.meta.url)),
    [JSON.stringify(config)],
    {
      execArgv: ['--expose-gc', '--import', './scripts/register-ts.mjs'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const calls = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    calls.set(0, { resolve: () => resolve(), reject });
  });
  child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const call = calls.get(m.id);
    calls.delete(m.id);
    if (m.error !== undefined) call?.reject(new Error(`flood child: ${m.error}`));
    else call?.resolve(m.result);
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`flood child exited (${code ?? signal})`);
    for (const call of calls.values()) call.reject(exited);
    calls.clear();
  });
  const call = <T>(cmd: string, args: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(exited);
      const id = nextId++;
      calls.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
  await ready;
  return {
    call,
    heap: () => call<HeapFigures>('heap'),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export const MiB = 1024 * 1024;
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`;
}
