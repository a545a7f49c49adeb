// Builds dist/esm (tsc: type-checked JS + .d.ts) and dist/cjs (the same sources transpiled to
// CommonJS, with the same declarations); each folder gets a package.json naming its module type.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});

const sources = readdirSync('lib', { recursive: true }).filter(
  (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'),
);
for (const file of sources) {
  const { outputText } = ts.transpileModule(readFileSync(join('lib', file), 'utf8'), {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const out = join('dist/cjs', file.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, outputText);
}
cpSync('dist/esm', 'dist/cjs', {
  recursive: true,
  filter: (src) => !src.endsWith('.js') || relative('dist/esm', src) === '',
});

for (const [dir, type] of [
  ['dist/esm', 'module'],
  ['dist/cjs', 'commonjs'],
]) {
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + '\n');
}
