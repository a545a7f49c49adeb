// The process helper of the clusters (scripts/cluster/): start a node detached with its pid in a pid
// file of the state folder, wait for a readiness check, and stop or kill only the processes those
// pid files name, so `down` never touches a process the script did not start.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often readiness checks poll, in milliseconds. */
export const DEFAULT_POLL_MS = 250;
/** How long a node gets to stop after SIGTERM before it is killed, in milliseconds. */
export const DEFAULT_STOP_TIMEOUT_MS = 20_000;

const pidFile = (dir, name) => join(dir, `${name}.pid`);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of node `name` if this helper started it and it still runs. */
export function pidOf(dir, name) {
  const file = pidFile(dir, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

/**
 * Starts `command` detached in its own session, in `dir`, output appended to `<dir>/<name>.log`; returns its pid.
 * `gid` runs it under a group of its own (as root), which lets nftables tell its packets apart
 * (`meta skgid`) for a partition.
 */
export function start(dir, name, command, args, env = {}, gid = undefined) {
  mkdirSync(dir, { recursive: true });
  const log = openSync(join(dir, `${name}.log`), 'a');
  writeFileSync(log, `===== ${new Date().toISOString()}: started by scripts/cluster =====\n`);
  const child = spawn(command, args, {
    // in its own folder: a file a node writes relative to its working directory (a RabbitMQ node
    // restarting Mnesia after a pause wrote `Mnesia.<node>/` there) stays out of the checkout
    cwd: dir,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...env },
    ...(gid !== undefined && process.getuid?.() === 0 ? { gid } : {}),
  });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile(dir, name), `${child.pid}\n`);
  return child.pid;
}

async function waitDead(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Sends `signal` to the process group of node `name` (started by `start`) and waits for it to end. */
export async function stop(dir, name, { signal = 'SIGTERM', timeoutMs = DEFAULT_STOP_TIMEOUT_MS } = {}) {
  const pid = pidOf(dir, name);
  if (pid === undefined) return false;
  const send = (sig) => {
    try {
      process.kill(-pid, sig); // the node and any child it spawned (its session)
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  send(signal);
  if (!(await waitDead(pid, timeoutMs))) {
    send('SIGKILL');
    await waitDead(pid, 5_000);
  }
  rmSync(pidFile(dir, name), { force: true });
  return true;
}

/** SIGKILL, the fault the chaos suite injects: no shutdown of any kind. */
export const kill = (dir, name) => stop(dir, name, { signal: 'SIGKILL', timeoutMs: 5_000 });

/**
 * Polls `check` until it returns a truthy value; fails with the last lines of the nodes' logs when
 * `timeoutMs` passes or one of `watch` (node names of `dir`) exits.
 */
export async function waitFor(what, check, { timeoutMs, dir, watch = [] }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    const dead = watch.filter((name) => pidOf(dir, name) === undefined);
    if (dead.length || Date.now() > deadline) {
      const why = dead.length ? `${dead.join(', ')} exited` : `not within ${timeoutMs / 1000} s`;
      throw new Error(
        `${what}: ${why}${last ? ` (last check: ${last.message})` : ''}\n${logTails(dir, watch)}`,
      );
    }
    await sleep(DEFAULT_POLL_MS);
  }
}

function logTails(dir, names) {
  return names
    .map((name) => {
      const file = join(dir, `${name}.log`);
      if (!existsSync(file)) return '';
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15);
      return `----- ${file} -----\n${lines.join('\n')}`;
    })
    .join('\n');
}
