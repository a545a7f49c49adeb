// Starts the broker a transport needs through scripts/brokers.sh when nothing listens on its port,
// and stops at the end only a broker it started.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BrokerAddress } from '../src/transports.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/brokers.sh', import.meta.url));

export function listening({ host, port }: BrokerAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export class BrokerError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
  }
}

/** `bash scripts/brokers.sh <command> <broker>`; rejects with the tail of its output when it fails. */
export function brokersScript(command: 'up' | 'down', broker: BrokerAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, command, broker.name],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve();
        const tail = `${stdout}${stderr}`.trimEnd().split('\n').slice(-30).join('\n');
        reject(
          new BrokerError(`scripts/brokers.sh ${command} ${broker.name} failed (exit ${err.code})`, tail),
        );
      },
    );
  });
}
