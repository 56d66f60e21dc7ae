// The CNI author's one call: local-cluster's network checks against a cluster running this
// plugin (2 nodes: pod to pod across nodes, ClusterIP by address and name, NodePort, traffic
// that must not leave the nodes). Run by the project's CI (tests/clusters/vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cniSuite } from 'local-cluster/framework';

await cniSuite(
  {
    cniPlugin: './index.js',
    baseDir: fileURLToPath(new URL('..', import.meta.url)),
    home: process.env.LOCAL_CLUSTER_HOME,
    cluster: { name: `ptp-e2e-${process.pid}`, numNodes: 1 },
    dind: { subnet: '10.216.0.0/16' },
  },
  { describe, it, expect, beforeAll, afterAll },
);
