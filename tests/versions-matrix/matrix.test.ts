import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver, hostKubectl, leftovers, readyNodes, run, toolHome } from '../clusters/helpers.js';

// The releases brought up here by hand (docs/user/versions.md), one per minor from v1.33: each
// node image built from Go modules (minutes per release when it is not cached), then a 2-node
// cluster at that version, the quick checks, a restore after `down`, and `clean`.
// LOCAL_CLUSTER_MATRIX_VERSIONS=v1.35.4,v1.37.2 picks some.
const VERSIONS = (process.env.LOCAL_CLUSTER_MATRIX_VERSIONS ?? 'v1.33.13,v1.34.4,v1.35.4,v1.36.3,v1.37.2').split(',').map((v) => v.trim()).filter(Boolean);

const rows = VERSIONS.map((version, i) => ({ version, name: `matrix-${version.replace(/\./g, '-')}-${process.pid}`, subnet: `10.${224 + i}.0.0/16` }));
afterAll(async () => {
  for (const { name } of rows) await clean({ driver, cluster: name }).catch(() => undefined);
});

describe.each(rows)('Kubernetes $version on 2 nodes', ({ version, name, subnet }) => {
  const args = ['up', '--name', name, '--kubernetes-version', version, '--num-nodes', '1', '--addons', '', '--dind-subnet', subnet];
  const kubectl = (...a: string[]) => run(hostKubectl(version), ['--kubeconfig', join(toolHome, 'clusters', name, 'admin.conf'), ...a]);

  it('comes up with every node Ready, the kubelets and the API server at that version', async () => {
    const r = await cli(args);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const nodes = (await kubectl('get', 'nodes', '-o', 'json')).stdout;
    expect(readyNodes(nodes)).toEqual(['kube-master', 'kube-node-1']);
    const kubelets = JSON.parse(nodes) as { items: { status: { nodeInfo: { kubeletVersion: string } } }[] };
    expect(kubelets.items.map((n) => n.status.nodeInfo.kubeletVersion)).toEqual([version, version]);
    const server = JSON.parse((await kubectl('version', '-o', 'json')).stdout) as { serverVersion: { gitVersion: string } };
    expect(server.serverVersion.gitVersion).toBe(version);
  });

  it('passes the quick checks: pod to pod across nodes, ClusterIP by address and DNS, NodePort', async () => {
    const r = await cli(['check', '--name', name]);
    expect(r.stdout, r.stdout + r.stderr).toMatch(/\b6 passed, 0 failed, 1 skipped/);
    expect(r.code).toBe(0);
  });

  it('comes back from its snapshot after down', async () => {
    expect((await cli(['down', '--name', name])).code).toBe(0);
    const r = await cli(args);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('restored from its snapshot');
    expect(readyNodes((await kubectl('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1']);
  });

  it('clean leaves nothing behind', async () => {
    expect((await cli(['clean', '--name', name])).code).toBe(0);
    expect(await leftovers(name)).toEqual([]);
  });
});
