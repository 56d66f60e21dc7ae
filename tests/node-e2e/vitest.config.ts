import { defineConfig } from 'vitest/config';

// `e2e-node` (Kubernetes' node e2e suite in kubelet mode) on a real one-node cluster
// (npm run test:node-e2e). Not part of `npm test`: building e2e_node.test takes minutes.
export default defineConfig({
  test: {
    include: ['tests/node-e2e/**/*.test.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
