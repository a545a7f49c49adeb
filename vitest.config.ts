import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    // Integration suites share real brokers: one file at a time keeps them independent.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // expect.poll retries broker round trips; 1 s (vitest's default) is short on a loaded 2-core machine
    expect: { poll: { timeout: 10_000 } },
    setupFiles: ['test/setup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.spec.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.spec.ts', 'test/interop/**/*.spec.ts', 'test/pack/**/*.spec.ts'],
          // starts the suite's own brokers and the FastStream venv (and stops what it started)
          globalSetup: ['test/global-setup.ts'],
          // Kafka and RabbitMQ cold starts can take a couple of minutes on a loaded machine
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
