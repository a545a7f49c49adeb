// The packed package in an app that installed exactly one Kafka client library: kafkajs (any Node.js
// this package supports) or @platformatic/kafka (on the Node.js versions it supports; the
// `test:kafka:platformatic` run covers it on Node 24). ESM and CommonJS, against the suite's broker.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformaticSupportsNode } from '../../lib/kafka/driver/create-driver.js';
import { KAFKA_BROKERS } from '../integration/brokers.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, 'fixtures');
const npmEnv = {
  ...process.env,
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  npm_config_fetch_retries: '5',
  npm_config_fetch_retry_mintimeout: '2000',
  npm_config_prefer_offline: 'true',
};
const NEST = [
  '@nestjs/common@^12',
  '@nestjs/core@^12',
  '@nestjs/microservices@^12',
  'rxjs@^7',
  'reflect-metadata@^0.2',
];
const LIBRARY = { kafkajs: 'kafkajs@^2.2.4', platformatic: '@platformatic/kafka@^2.12.1' } as const;
const PACKAGE = { kafkajs: 'kafkajs', platformatic: '@platformatic/kafka' } as const;

type Driver = keyof typeof LIBRARY;

/** Runs both fixture apps (ESM and CommonJS) in a project holding the tarball, Nest and one Kafka library. */
async function appsWithOnly(tarball: string, driver: Driver) {
  const dir = mkdtempSync(join(tmpdir(), `broker-rpc-kafka-${driver}-`));
  try {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    );
    await exec(
      'npm',
      ['install', '--ignore-scripts', '--no-package-lock', tarball, ...NEST, LIBRARY[driver]],
      {
        cwd: dir,
        env: npmEnv,
        maxBuffer: 1 << 24,
      },
    );
    const other: Driver = driver === 'kafkajs' ? 'platformatic' : 'kafkajs';
    const installed = {
      own: existsSync(join(dir, 'node_modules', PACKAGE[driver], 'package.json')),
      other: existsSync(join(dir, 'node_modules', PACKAGE[other], 'package.json')),
    };
    const results = [];
    for (const fixture of ['kafka-app.mjs', 'kafka-app.cjs']) {
      copyFileSync(join(fixtures, fixture), join(dir, fixture));
      const { stdout } = await exec(process.execPath, [fixture], {
        cwd: dir,
        env: { ...process.env, KAFKA_DRIVER: driver, KAFKA_BROKERS: KAFKA_BROKERS.join(',') },
      });
      results.push(JSON.parse(stdout.trim().split('\n').at(-1)!));
    }
    return { installed, esm: results[0], cjs: results[1] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('packed package with one Kafka client library', () => {
  let work: string;
  let tarball: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'broker-rpc-kafka-pack-'));
    await exec(process.execPath, ['scripts/build.mjs'], { cwd: root });
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      env: npmEnv,
      maxBuffer: 1 << 24,
    });
    tarball = join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('serves and calls over kafkajs with only kafkajs installed; the platformatic driver is refused', async () => {
    const { installed, esm, cjs } = await appsWithOnly(tarball, 'kafkajs');
    expect(installed).toEqual({ own: true, other: false });
    const reason = platformaticSupportsNode(process.version) ? 'not-installed' : 'node-version';
    expect(esm).toMatchObject({ sum: 6, refused: { reason } });
    expect(cjs).toMatchObject({ sum: 15, refused: { reason } });
    expect(esm.refused.message).toContain('@platformatic/kafka');
  }, 300_000);

  it.runIf(platformaticSupportsNode(process.version))(
    'serves and calls over @platformatic/kafka with only it installed (no kafkajs); kafkajs is refused as not installed',
    async () => {
      const { installed, esm, cjs } = await appsWithOnly(tarball, 'platformatic');
      expect(installed).toEqual({ own: true, other: false });
      const refused = {
        reason: 'not-installed',
        message: 'The "kafkajs" driver needs the package "kafkajs": install it with `npm install kafkajs`.',
      };
      expect(esm).toEqual({ sum: 6, refused });
      expect(cjs).toEqual({ sum: 15, refused });
    },
    300_000,
  );
});
