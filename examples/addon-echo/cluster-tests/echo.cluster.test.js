// This package's own cluster tests, written with local-cluster's test framework as an out-of-tree
// component's would be: the reusable addon suite (installed by `up`, network checks with it,
// restored from the snapshot) plus a check of what the addon does, through the API server's
// Service proxy. Run by the project's CI (tests/clusters/vitest.config.ts includes
// examples/*/cluster-tests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { addonSuite, environment } from 'local-cluster/framework';
import { NAMESPACE } from '../index.js';

const here = fileURLToPath(new URL('..', import.meta.url));

/** The echo Service answers through the API server's proxy; after a restore its pod may still be starting, so it is polled. */
async function echoAnswers(cluster) {
  const env = environment(cluster);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const body = await env.core.connectGetNamespacedServiceProxyWithPath({ name: 'echo:80', namespace: NAMESPACE, path: '/' });
      expect(String(body)).toContain('echo from a third-party addon');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

await addonSuite(
  {
    addon: './index.js',
    baseDir: here,
    home: process.env.LOCAL_CLUSTER_HOME,
    cluster: { name: `echo-e2e-${process.pid}`, numNodes: 1 },
    dind: { subnet: '10.217.0.0/16' },
    readyCheck: echoAnswers,
  },
  { describe, it, expect, beforeAll, afterAll },
);
