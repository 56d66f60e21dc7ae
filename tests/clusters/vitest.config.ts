import { defineConfig } from 'vitest/config';
import LongestFirst from './sequencer.js';

// Real clusters, long timeouts. Two groups, one after the other:
// - "side-by-side": files whose clusters can share this 2-core machine with one other file's
//   (each has its own cluster names, subnet and ports; the image factory builds an image once
//   when two of them need it at the same time, the second waiting for the first).
// - "alone": files that touch what every cluster shares: restart.test.ts restarts the Docker
//   engine; daily.test.ts holds the default subnet with a look-alike network and checks that
//   `up` steps aside.
// The node image is built (or found cached) by the first `up`. Files run longest first
// (sequencer.ts); the side-by-side files share the clusters of shared-clusters.ts.
export const ALONE = ['tests/clusters/restart.test.ts', 'tests/clusters/daily.test.ts'];
const ALL = ['tests/clusters/**/*.test.ts', 'examples/*/cluster-tests/**/*.test.js'];
/** How many files of the side-by-side group run at once (LOCAL_CLUSTER_E2E_FILES, default 2). */
const SIDE_BY_SIDE = Number(process.env.LOCAL_CLUSTER_E2E_FILES ?? 2);

export default defineConfig({
  test: {
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    pool: 'forks',
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: 'side-by-side', include: ALL, exclude: ALONE, globalSetup: ['tests/clusters/global-setup.ts'], fileParallelism: SIDE_BY_SIDE > 1, maxWorkers: SIDE_BY_SIDE, sequence: { groupOrder: 0, concurrent: false } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1, concurrent: false } },
      },
    ],
  },
});
