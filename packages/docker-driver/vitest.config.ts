import { defineConfig } from 'vitest/config';

// Unit tests need no engine; integration tests run against the real one and
// share a fixture image imported once by the global setup.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
