import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // plugin tests import modules from fresh temp dirs; give slow machines room
    testTimeout: 30_000,
  },
});
