import { defineConfig } from 'vitest/config';

// Every built-in CNI on a real 3-node cluster, one after another (npm run test:cni-matrix).
export default defineConfig({
  test: {
    include: ['tests/cni-matrix/**/*.test.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
