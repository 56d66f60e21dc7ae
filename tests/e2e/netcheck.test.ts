import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor } from './helpers.js';
import { expectAllGreen, mismatches, report } from './netcheck-helpers.js';

// Service truth tables (`local-cluster netcheck`) against a real cluster: every case green on the
// bridge CNI with kube-proxy iptables (MetalLB installed on demand for the LoadBalancer case); a
// route broken on purpose turns exactly the cells it should into X and the exit code into 1.
// Flannel with nftables and a one-node cluster: netcheck-flannel.test.ts.
const BRIDGE = `netcheck-${process.pid}`;

afterAll(async () => {
  for (const cluster of [BRIDGE]) await clean({ driver, cluster }).catch(() => undefined);
});

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
    expect(r.stdout.trim().split('\n')).toHaveLength(11);
    expect(r.stdout).toMatch(/^affinity\s+sessionAffinity ClientIP .* \(needs 2 nodes\)$/m);
  });
});

describe('netcheck: bridge, kube-proxy iptables', () => {
  const kubectl = kubectlFor(BRIDGE);

  it('every case passes on 3 nodes; MetalLB is installed for the LoadBalancer case and answers the host', async () => {
    const upRun = await cli(['up', '--name', BRIDGE, '--dind-subnet', '10.218.0.0/16', '--addons', '']);
    expect(upRun.code, upRun.stderr.slice(-3000)).toBe(0);
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

  it('a broken route shows as exactly the X cells it causes, and exit 1; mended, the table is green again', async () => {
    const nodes = await driver.listNodes({ cluster: BRIDGE, role: 'node' });
    const node2 = nodes.find((n) => n.hostname === 'kube-node-2')!;
    const cidr = (await kubectl('get', 'node', 'kube-node-1', '-o', 'jsonpath={.spec.podCIDR}')).stdout.trim();
    expect(cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    // kube-node-2 loses its route to kube-node-1's pods: its packets there, and its replies to them, go nowhere
    const route = (await node2.exec(['ip', 'route', 'show', cidr])).stdout.trim();
    expect(route).toContain('via');
    await node2.exec(['ip', 'route', 'del', cidr]);
    try {
      const r = await cli(['netcheck', '--name', BRIDGE, 'pod-to-pod', '--attempts', '2', '--json']);
      expect(r.code).toBe(1);
      const out = report(r.stdout);
      expect(out).toMatchObject({ passed: 0, failed: 1 });
      expect(mismatches(out)).toEqual(
        [
          'pod-to-pod/tcp: pod@kube-node-1 -> pod@kube-node-2',
          'pod-to-pod/tcp: pod@kube-node-2 -> pod@kube-node-1',
          'pod-to-pod/udp: pod@kube-node-1 -> pod@kube-node-2/udp',
          'pod-to-pod/udp: pod@kube-node-2 -> pod@kube-node-1/udp',
        ].sort(),
      );
      // the text report shows the grids and names the failing cells
      const text = await cli(['netcheck', '--name', BRIDGE, 'pod-to-pod', '--attempts', '1']);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('FAIL pod-to-pod/tcp');
      expect(text.stdout).toMatch(/comparison \(X = differs\):\n-\s+1 2 3 4 5\npod@kube-master\s+\. \. \. \. \.\npod@kube-node-1\s+\. \. X \. \.\npod@kube-node-2\s+\. X \. \. \./);
      expect(text.stdout).toContain('pod@kube-node-2 -> pod@kube-node-1: expected reachable');
      expect(text.stdout).toMatch(/0 passed, 1 failed \(cases; 23 of 27 cells as expected\)/);
    } finally {
      await node2.exec(['ip', 'route', 'replace', ...route.split(/\s+/)]);
    }
    const mended = await cli(['netcheck', '--name', BRIDGE, 'pod-to-pod']);
    expect(mended.code, mended.stdout.slice(-2000)).toBe(0);
    expect(mended.stdout).toMatch(/1 passed, 0 failed/);
    await clean({ driver, cluster: BRIDGE });
  });
});
