import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.spec.ts'],
    // Integration suites share real brokers on fixed ports: one file at a time keeps them independent.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // expect.poll retries broker round trips; 1 s (vitest's default) is short on a loaded 2-core machine
    expect: { poll: { timeout: 10_000 } },
    setupFiles: ['test/setup.ts'],
  },
});
