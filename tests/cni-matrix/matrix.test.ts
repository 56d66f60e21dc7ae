import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver, leftovers } from '../clusters/helpers.js';

// LOCAL_CLUSTER_MATRIX_CNIS=bridge,flannel picks some; the default is every built-in CNI that runs here.
const CNIS = (process.env.LOCAL_CLUSTER_MATRIX_CNIS ?? 'bridge,flannel,calico').split(',').map((c) => c.trim()).filter(Boolean);
/** Which CNIs enforce NetworkPolicy (the e2e policy check runs for them, and is skipped for the rest). */
const POLICY: Record<string, boolean> = { bridge: false, flannel: false, calico: true, weave: true };

const names = CNIS.map((cni) => `matrix-${cni}-${process.pid}`);
afterAll(async () => {
  for (const name of names) await clean({ driver, cluster: name }).catch(() => undefined);
});

describe.each(CNIS.map((cni, i) => ({ cni, name: names[i]!, subnet: `10.${210 + i}.0.0/16` })))('CNI $cni on 3 nodes', ({ cni, name, subnet }) => {
  it('comes up with every node Ready', async () => {
    const r = await cli(['up', '--name', name, '--cni-plugin', cni, '--num-nodes', '2', '--dind-subnet', subnet]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`(CNI ${cni})`);
  });

  it('passes the quick checks (check): pod to pod across nodes, ClusterIP by address and DNS, NodePort on every node, and NetworkPolicy where supported', async () => {
    const r = await cli(['check', '--name', name]);
    const policy = POLICY[cni] ?? false;
    expect(r.stdout, r.stdout + r.stderr).toMatch(policy ? /\b7 passed, 0 failed/ : /\b6 passed, 0 failed, 1 skipped/);
    expect(r.code).toBe(0);
  });

  it('clean leaves nothing behind', async () => {
    expect((await cli(['clean', '--name', name])).code).toBe(0);
    expect(await leftovers(name)).toEqual([]);
  });
});
