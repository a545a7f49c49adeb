// The chaos suite (test/chaos/): run by scripts/chaos.mjs (npm run test:chaos) inside its own
// network namespace, against the 3-node clusters it starts there. Not part of `npm test`.
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/chaos/**/*.spec.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    setupFiles: ['test/setup.ts'],
  },
});
