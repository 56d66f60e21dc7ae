import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';
import { expectAllGreen, report } from './netcheck-helpers.js';
import { sharedCluster } from './shared-clusters.js';

// Service truth tables (`local-cluster netcheck`) against a real cluster: every case green on the
// bridge CNI with kube-proxy iptables (MetalLB installed on demand for the LoadBalancer case), in
// the run's shared bridge cluster. Flannel with nftables: cni.test.ts; a route broken on purpose
// and a one-node cluster: cluster.test.ts (they need clusters of their own).
const { name: BRIDGE, kubectl } = sharedCluster('bridge');

describe('netcheck: bad input', () => {
  it('refuses an unknown case, naming it and the known ones, before touching any cluster', async () => {
    const r = await cli(['netcheck', '--name', BRIDGE, 'clusterip', 'no-such-case']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Unknown netcheck case: no-such-case');
    expect(r.stderr).toMatch(/Cases: pod-to-pod, clusterip, headless, nodeport, loadbalancer, externalname, hairpin, affinity, hostnetwork, udp-stale, terminating/);
  });

  it('says the cluster is not up', async () => {
    const r = await cli(['netcheck', '--name', 'netcheck-nothing-here']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Cluster "netcheck-nothing-here" is not up/);
    expect(r.stderr).toContain('local-cluster up');
  });

  it('refuses a probe-round count that is not one', async () => {
    const r = await cli(['netcheck', '--attempts', 'many']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--attempts many is not a number of probe rounds');
  });

  it('--list describes every case', async () => {
    const r = await cli(['netcheck', '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(13);
    expect(r.stdout).toMatch(/^affinity\s+sessionAffinity ClientIP .* \(needs 2 nodes\)$/m);
  });
});

describe('netcheck: bridge, kube-proxy iptables', () => {
  it('every case passes on 3 nodes; MetalLB is installed for the LoadBalancer case and answers the host', async () => {
    const r = await cli(['netcheck', '--name', BRIDGE, '--json']);
    expect(r.stderr).toContain('installing the metallb addon');
    const out = report(r.stdout);
    expect(out).toMatchObject({ cni: 'bridge', proxyMode: 'iptables', nodes: ['kube-master', 'kube-node-1', 'kube-node-2'] });
    expectAllGreen(out, r.stderr);
    expect(r.code).toBe(0);
    // the host row of the LoadBalancer table: the address came from the pool at the top of the node network
    const lb = out.cases.find((c) => c.name === 'loadbalancer')!.tables[0]!;
    const fromHost = lb.cells.filter((c) => c.source === 'host');
    expect(fromHost.map((c) => [c.target, c.observed])).toEqual([
      ['web-lb 10.218.255.239:80', true],
      ['10.218.255.254:80 (unassigned)', false],
    ]);
    // the test namespace is gone (being deleted) and MetalLB stays
    const namespaces = (await kubectl('get', 'namespaces', '-o', 'jsonpath={range .items[?(@.status.phase=="Active")]}{.metadata.name} {end}')).stdout;
    expect(namespaces).not.toContain(out.namespace);
    expect(namespaces).toContain('metallb-system');
  });
});
