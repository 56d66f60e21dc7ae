import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers } from '../clusters/helpers.js';
import { EVERY_CASE_WITHOUT_INGRESS, familyStatuses as statuses, items, mismatches, report } from '../clusters/netcheck-helpers.js';

// cluster.ipFamily dual on flannel and calico (npm run test:cni-matrix): each checked through the
// API and with every netcheck case in each family. bridge's dual stack and IPv6 alone run in
// npm test (tests/clusters/ip-family.test.ts). Subnets 10.241.0.0/24 and fd00:10:241::/64, one
// cluster at a time.

describe('--ip-family dual on flannel (VXLAN in each family)', () => {
  const FLANNEL = `v6-flannel-${process.pid}`;
  const k = kubectlFor(FLANNEL);
  afterAll(async () => {
    await clean({ driver, cluster: FLANNEL }).catch(() => undefined);
  });

  it('up: every pod on the pod network has an address of each family from its node flannel subnets', async () => {
    const r = await cli(['up', '--name', FLANNEL, '--cni-plugin', 'flannel', '--ip-family', 'dual', '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.241.0.0/24', '--dind-subnet6', 'fd00:10:241::/64']);
    expect(r.code, r.stderr).toBe(0);
    for (const node of await driver.listNodes({ cluster: FLANNEL, role: 'node' })) {
      const env = (await node.exec(['cat', '/run/flannel/subnet.env'])).stdout;
      expect(env).toMatch(/FLANNEL_IPV6_NETWORK=fd00:10:244::\/56/);
      expect(env).toMatch(/FLANNEL_IPV6_SUBNET=fd00:10:244:[0-9a-f:]*:1\/64/);
    }
    const dns = items((await k('-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json')).stdout);
    for (const p of dns) expect((p.status.podIPs as { ip: string }[]).map((x) => x.ip)).toEqual([expect.stringMatching(/^10\.244\./), expect.stringMatching(/^fd00:10:244:/)]);
  });

  it('netcheck: every case green in each family', async () => {
    const r = await cli(['netcheck', '--name', FLANNEL, '--json']);
    const out = report(r.stdout);
    expect(mismatches(out), r.stderr.slice(-2000)).toEqual([]);
    expect(statuses(out, 'ipv4')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(statuses(out, 'ipv6')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(r.code).toBe(0);
    console.log(`[${FLANNEL}] netcheck cells: ${out.cells.asExpected}/${out.cells.total} as expected`);
  });

  it('clean leaves nothing of the cluster', async () => {
    expect((await cli(['clean', '--name', FLANNEL])).code).toBe(0);
    expect(await leftovers(FLANNEL)).toEqual([]);
  });
});

describe('--ip-family dual on calico (an IPv6 pool over VXLAN)', () => {
  const CALICO = `v6-calico-${process.pid}`;
  const k = kubectlFor(CALICO);
  afterAll(async () => {
    await clean({ driver, cluster: CALICO }).catch(() => undefined);
  });

  it('up: pods on the pod network get an address of each family from the two pools', async () => {
    const r = await cli(['up', '--name', CALICO, '--cni-plugin', 'calico', '--ip-family', 'dual', '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.241.0.0/24', '--dind-subnet6', 'fd00:10:241::/64']);
    expect(r.code, r.stderr).toBe(0);
    const pools = (await k('get', 'ippools.crd.projectcalico.org', '-o', 'jsonpath={range .items[*]}{.spec.cidr} {.spec.vxlanMode} {.spec.natOutgoing}{"\\n"}{end}')).stdout.trim().split('\n').sort();
    expect(pools).toEqual(['192.168.0.0/16 Always true', 'fd00:10:244::/56 Always true']);
    const dns = items((await k('-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json')).stdout);
    for (const p of dns) expect((p.status.podIPs as { ip: string }[]).map((x) => x.ip)).toEqual([expect.stringMatching(/^192\.168\./), expect.stringMatching(/^fd00:10:244:/)]);
  });

  it('netcheck: every case green in each family', async () => {
    const r = await cli(['netcheck', '--name', CALICO, '--json']);
    const out = report(r.stdout);
    expect(mismatches(out), r.stderr.slice(-2000)).toEqual([]);
    expect(statuses(out, 'ipv4')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(statuses(out, 'ipv6')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(r.code).toBe(0);
    console.log(`[${CALICO}] netcheck cells: ${out.cells.asExpected}/${out.cells.total} as expected`);
  });

  it('clean leaves nothing of the cluster', async () => {
    expect((await cli(['clean', '--name', CALICO])).code).toBe(0);
    expect(await leftovers(CALICO)).toEqual([]);
  });
});
