// Writes the AsyncAPI 3.0 document of an app.
// Usage: npm run asyncapi -- <module.ts|.js> [--export <name>] [--out <file.json>]
// The module's export (default: `asyncApi`, else the default export) is a function, possibly async,
// returning either an AsyncAPI document or `{ servers, clients, options, close }` (see README,
// "AsyncAPI document"). Initialize the Nest app in it with `app.init()`: handlers register then, and
// nothing connects to a broker.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL, URL } from 'node:url';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { export: { type: 'string' }, out: { type: 'string' } },
});
if (positionals.length !== 1) {
  process.stderr.write('Usage: npm run asyncapi -- <module> [--export <name>] [--out <file.json>]\n');
  process.exit(2);
}

const mod = await import(pathToFileURL(resolve(positionals[0])).href);
const name = values.export ?? ('asyncApi' in mod ? 'asyncApi' : 'default');
const source = mod[name];
if (typeof source !== 'function') {
  process.stderr.write(`${positionals[0]} exports no function "${name}"\n`);
  process.exit(2);
}

const result = await source();
let document = result;
try {
  if (result?.asyncapi === undefined) {
    // the sources in a checkout (run with --import ./scripts/register-ts.mjs), else the built package
    const sources = new URL('../lib/index.ts', import.meta.url);
    const lib = await import(
      existsSync(sources) ? sources.href : new URL('../dist/esm/index.js', import.meta.url).href
    );
    document = lib.asyncApiDocument({ servers: result.servers, clients: result.clients }, result.options);
  }
} finally {
  await result?.close?.();
}

const text = `${JSON.stringify(document, null, 2)}\n`;
if (values.out) await writeFile(values.out, text);
else process.stdout.write(text);
