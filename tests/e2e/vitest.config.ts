import { defineConfig } from 'vitest/config';

// Real clusters: one file at a time, long timeouts. The node image is built (or
// found cached) by the first `up`.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts', 'examples/*/e2e/**/*.test.js'],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
