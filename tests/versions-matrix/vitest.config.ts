import { defineConfig } from 'vitest/config';

// Every Kubernetes minor release that builds here, on a real 2-node cluster, one after another
// (npm run test:versions). LOCAL_CLUSTER_MATRIX_VERSIONS picks some.
export default defineConfig({
  test: {
    include: ['tests/versions-matrix/**/*.test.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
