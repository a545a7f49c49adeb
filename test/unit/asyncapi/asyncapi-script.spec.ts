// scripts/asyncapi.mjs: the document of an app module, written to a file, valid for @asyncapi/parser.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Parser } from '@asyncapi/parser';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('writes the document of the app module it is given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'asyncapi-'));
  try {
    const out = join(dir, 'asyncapi.json');
    await run(
      process.execPath,
      [
        '--import',
        './scripts/register-ts.mjs',
        'scripts/asyncapi.mjs',
        'test/unit/asyncapi/fixtures/memory-app.ts',
        '--out',
        out,
      ],
      { timeout: 60_000 },
    );
    const doc = JSON.parse(await readFile(out, 'utf8'));
    expect(doc.info).toMatchObject({ title: 'greeter', version: '2.0.0' });
    expect(doc.channels['greet.hello']).toMatchObject({
      address: 'greet.hello',
      messages: { request: { payload: { type: 'string' } } },
    });
    expect(doc.operations['greet.hello.receive']).toMatchObject({ action: 'receive' });
    const diagnostics = await new Parser().validate(JSON.stringify(doc));
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
