import type { TestProject } from 'vitest/node';
import { clean } from '@local-cluster/core';
import { driver } from './helpers.js';
import { SHARED_CLUSTERS, sharedClusterName, type SharedKind } from './shared-clusters.js';

// The cluster test run's shared clusters (shared-clusters.ts): named after this run, brought up by the
// first file that asks for one, removed here when every file is done, also after a failure.
export default function setup(project: TestProject): () => Promise<void> {
  const run = String(process.pid);
  project.provide('sharedRun', run);
  return async () => {
    for (const kind of Object.keys(SHARED_CLUSTERS) as SharedKind[]) {
      const name = sharedClusterName(kind, run);
      await clean({ driver, cluster: name }).catch((e: Error) => console.error(`removing the shared cluster ${name} failed: ${e.message}`));
    }
  };
}
