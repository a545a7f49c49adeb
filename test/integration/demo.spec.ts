import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run demo` with these arguments, as a child process: its exit code and output. */
function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', './scripts/register-ts.mjs', 'sample/demo/main.ts', ...args],
      { cwd: ROOT },
      (err, stdout, stderr) => resolve({ code: err ? (err.code as number | null) : 0, stdout, stderr }),
    );
  });
}

describe('npm run demo (memory transport)', () => {
  // The timeouts are caps for a loaded machine, not timed assertions: a run takes about 5 s of calls and load.
  it('calls every endpoint, prints the transcript and exits 0', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await demo();

    expect(stderr).toBe(''); // no Nest log lines, warnings or stack traces
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const line = (start: RegExp) => lines.find((l) => start.test(l));
    expect(line(/^ {2}transport +memory,/)).toBeDefined();
    expect(line(/^✓ sum +GET \/sum\?numbers=1,2,3,4 +→ 200 \{"sum":10\}$/)).toBeDefined();
    expect(line(/^✓ stream +GET \/count\?to=5 +→ 200 1 2 3 4 5$/)).toBeDefined();
    expect(line(/^✓ remote error +GET \/divide\?a=1&b=0 +→ 422 RpcRemoteError$/)).toBeDefined();
    expect(line(/^ +kind +exception$/)).toBeDefined();
    expect(line(/^ +payload +\{"code":"E_DIVIDE_BY_ZERO","message":"cannot divide 1 by 0"\}$/)).toBeDefined();
    expect(line(/^✓ timeout +GET \/slow +→ 504 RpcTimeoutError$/)).toBeDefined();
    expect(line(/^ +pattern +math\.slow$/)).toBeDefined();
    expect(line(/^ +correlationId +\S+$/)).toBeDefined();
    expect(line(/^ +timeoutMs +300$/)).toBeDefined();
    expect(line(/^ +elapsedMs +\d+$/)).toBeDefined();
    expect(line(/^✓ no responders +GET \/nobody +→ 503 RpcNoRespondersError$/)).toBeDefined();
    expect(line(/^ +pattern +math\.nobody$/)).toBeDefined();
    expect(line(/^✓ +[\d ]+ requests, 0 failed$/)).toBeDefined();
    expect(line(/^ +[\d ]+ req\/s · p50 [\d.]+ ms · p99 [\d.]+ ms$/)).toBeDefined();
    expect(line(/^all 6 checks passed/)).toBeDefined();
    expect(stdout).not.toContain('✗');
    expect(stdout).not.toContain('the apps logged'); // Nest's warnings and errors, counted by the demo
  });

  it('refuses an unknown argument with its usage, exit 2', { timeout: 180_000 }, async () => {
    const { code, stderr } = await demo('mqtt');
    expect(code).toBe(2);
    expect(stderr).toContain('usage: npm run demo [-- memory|nats|rabbitmq|kafka] [--serve] [--verbose]');
  });
});
