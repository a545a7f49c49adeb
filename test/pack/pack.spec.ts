import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_URL } from '../integration/brokers.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, 'fixtures');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

async function npm(cwd: string, ...args: string[]) {
  return exec('npm', args, {
    cwd,
    env: {
      ...process.env,
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      // the registry is the one network dependency of the suite: retry it, and use the cache first
      npm_config_fetch_retries: '5',
      npm_config_fetch_retry_mintimeout: '2000',
      npm_config_prefer_offline: 'true',
    },
    maxBuffer: 1 << 24,
  });
}

/** A scratch project that installs only the packed tarball, its peers and one broker client. */
async function scratch(type: 'module' | 'commonjs', tarball: string, deps: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `broker-rpc-${type}-`));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type }));
  await npm(dir, 'install', '--ignore-scripts', '--no-package-lock', tarball, ...deps);
  return dir;
}

/** A Nest app's peers at one major version, with the NATS client and no other broker client. */
function consumerDeps(nestMajor: number): string[] {
  return [
    `@nestjs/common@^${nestMajor}`,
    `@nestjs/core@^${nestMajor}`,
    `@nestjs/microservices@^${nestMajor}`,
    'rxjs@^7',
    'reflect-metadata@^0.2',
    '@nats-io/transport-node@^3',
  ];
}

/** Runs a fixture app in the scratch project; returns the JSON it prints last. */
async function runApp(dir: string, fixture: string, as: string): Promise<any> {
  copyFileSync(join(fixtures, fixture), join(dir, as));
  const { stdout } = await exec(process.execPath, [as], { cwd: dir, env: { ...process.env, NATS_URL } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

/** Type-checks a fixture against the packed declarations, as a nodenext consumer. */
async function typecheck(dir: string, fixture: string): Promise<void> {
  copyFileSync(join(fixtures, fixture), join(dir, fixture));
  const args = [
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--skipLibCheck',
  ];
  await exec(process.execPath, [tsc, ...args, fixture], { cwd: dir });
}

describe('packed package', () => {
  let work: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'broker-rpc-pack-'));
    await exec(process.execPath, ['scripts/build.mjs'], { cwd: root });
    const { stdout } = await npm(root, 'pack', '--json', '--pack-destination', work);
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, info!.filename);
    files = info!.files.map((f) => f.path);
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds only what users need', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('docs/migrating.md');
    expect(files).toContain('dist/esm/index.js');
    expect(files).toContain('dist/cjs/index.js');
    expect(files).toContain('dist/esm/nats/index.d.ts');
    expect(files).toContain('dist/cjs/kafka/index.d.ts');
    expect(files).toContain('dist/cjs/rabbitmq/index.js');
    expect(files).toContain('dist/esm/testing/index.js');
    expect(files).toContain('dist/cjs/testing/index.d.ts');
    expect(files).toContain('dist/esm/health/index.js');
    expect(files).toContain('dist/cjs/health/index.d.ts');
    const unexpected = files.filter(
      (f) =>
        !/^(dist\/|docs\/(wire-protocol|observability|migrating)\.md$|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(
          f,
        ),
    );
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.includes('.spec.'))).toEqual([]);
  });

  it('is imported by a Nest 12 ESM app that installed only the NATS client', async () => {
    const dir = await scratch('module', tarball, consumerDeps(12));
    try {
      const result = await runApp(dir, 'app.esm.mjs', 'app.mjs');
      expect(result).toEqual({ sum: 6, memorySum: 7, errors: true });
      await typecheck(dir, 'types.mts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('is required by a Nest 11 CommonJS app, loading no other broker client', async () => {
    const dir = await scratch('commonjs', tarball, consumerDeps(11));
    try {
      const result = await runApp(dir, 'app.cjs.cjs', 'app.cjs');
      expect(result).toMatchObject({ sum: 9, memorySum: 11, loaded: [], remoteError: true });
      expect(result.nest).toMatch(/^11\./);
      await typecheck(dir, 'types.cts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
