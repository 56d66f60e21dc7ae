import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, LABELS } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, readyNodes } from './helpers.js';
import { EVERY_CASE_WITHOUT_INGRESS, familyStatuses as statuses, items, isV6, mismatches, report } from './netcheck-helpers.js';

// cluster.ipFamily on the bridge CNI: dual stack and IPv6 alone, each checked through the API and
// with every netcheck case in each family; and the IPv6 settings refused before anything is made.
// Flannel and calico in dual stack run in the CNI matrix (tests/cni-matrix/ip-family.test.ts).
// Subnets 10.241.0.0/24 (fd00:10:241::/64) and 10.242.0.0/24 (fd00:10:242::/64): no other file uses them.
const DUAL = `v6-dual-${process.pid}`;
const SIX = `v6-six-${process.pid}`;
const BAD = `v6-bad-${process.pid}`;
const PROBE_NETWORK = `v6-probe-${process.pid}`;

afterAll(async () => {
  for (const cluster of [DUAL, SIX, BAD]) await clean({ driver, cluster }).catch(() => undefined);
  await driver.removeNetwork(PROBE_NETWORK, { role: 'test' }).catch(() => undefined);
});

describe('bad IPv6 input is refused before anything is made, naming the setting', () => {
  it('an unknown --ip-family', async () => {
    const r = await cli(['up', '--name', BAD, '--ip-family', 'ipv5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster\.ipFamily/);
    expect(r.stderr).toMatch(/ipv4, ipv6 or dual/);
    expect(await leftovers(BAD)).toEqual([]);
  });

  it('a dind.subnet6 that is not IPv6, or not unique local', async () => {
    const notV6 = await cli(['up', '--name', BAD, '--ip-family', 'dual', '--dind-subnet6', '10.9.0.0/16']);
    expect(notV6.code).not.toBe(0);
    expect(notV6.stderr).toMatch(/dind\.subnet6.*not an IPv6 CIDR/);
    const global = await cli(['up', '--name', BAD, '--ip-family', 'dual', '--dind-subnet6', '2001:db8:1::/64']);
    expect(global.code).not.toBe(0);
    expect(global.stderr).toMatch(/dind\.subnet6 2001:db8:1::\/64 is not a unique local IPv6 range/);
    expect(await leftovers(BAD)).toEqual([]);
  });

  it('a dind.subnet6 that overlaps another Docker network', async () => {
    await driver.createNetwork({ name: PROBE_NETWORK, subnet: '10.242.3.0/24', subnet6: 'fd00:10:242:3::/64', labels: { [LABELS.managed]: 'true', [LABELS.role]: 'test' } });
    const r = await cli(['up', '--name', BAD, '--ip-family', 'dual', '--dind-subnet', '10.241.2.0/24', '--dind-subnet6', 'fd00:10:242:3::/64', '--addons', '']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`dind\\.subnet6 fd00:10:242:3::/64 overlaps Docker network "${PROBE_NETWORK}"`));
    expect(await leftovers(BAD)).toEqual([]);
    await driver.removeNetwork(PROBE_NETWORK, { role: 'test' });
  });

  it('a CNI plugin that cannot serve the family, named with the family', async () => {
    const r = await cli(['up', '--name', BAD, '--ip-family', 'dual', '--cni-plugin', 'weave', '--dind-subnet', '10.241.2.0/24', '--addons', '']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster\.ipFamily is dual, but CNI plugin "weave" cannot serve IPv6/);
    expect(await leftovers(BAD)).toEqual([]);
  });
});

describe('--ip-family dual on bridge', () => {
  const k = kubectlFor(DUAL);

  it('up: every node and every pod has one address of each family', async () => {
    const r = await cli(['up', '--name', DUAL, '--ip-family', 'dual', '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.241.0.0/24', '--dind-subnet6', 'fd00:10:241::/64']);
    expect(r.code, r.stderr).toBe(0);
    expect(readyNodes((await k('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1']);
    const nodes = items((await k('get', 'nodes', '-o', 'json')).stdout);
    for (const n of nodes) {
      const internal = (n.status.addresses as { type: string; address: string }[]).filter((a) => a.type === 'InternalIP').map((a) => a.address);
      expect(internal.map(isV6), n.metadata.name).toEqual([false, true]);
      expect(internal[1]).toMatch(/^fd00:10:241::\d$/);
      expect((n.spec.podCIDRs as string[]).map(isV6)).toEqual([false, true]);
    }
    const pods = items((await k('get', 'pods', '-A', '-o', 'json')).stdout);
    expect(pods.length).toBeGreaterThan(5);
    for (const p of pods) expect(((p.status.podIPs as { ip: string }[]) ?? []).map((x) => isV6(x.ip)), p.metadata.name).toEqual([false, true]);
    // CoreDNS pods are on the pod network: an IPv6 pod address from fd00:10:244::/56
    const dns = pods.filter((p) => p.metadata.name.startsWith('coredns-'));
    for (const p of dns) expect((p.status.podIPs as { ip: string }[])[1]!.ip).toMatch(/^fd00:10:244:/);
  });

  it('a PreferDualStack Service gets a ClusterIP of each family; a RequireDualStack one too', async () => {
    const svc = (name: string, policy: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ipFamilyPolicy: policy, selector: { app: name }, ports: [{ port: 80 }] } });
    for (const [name, policy] of [['prefer', 'PreferDualStack'], ['require', 'RequireDualStack']]) {
      const file = join(mkdtempSync(join(tmpdir(), 'v6-svc-')), 'svc.json');
      writeFileSync(file, svc(name!, policy!));
      expect((await k('create', '-f', file)).code).toBe(0);
      const spec = JSON.parse((await k('get', 'service', name!, '-o', 'json')).stdout).spec as { clusterIPs: string[]; ipFamilies: string[] };
      expect(spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
      expect(spec.clusterIPs.map(isV6)).toEqual([false, true]);
      expect(spec.clusterIPs[1]).toMatch(/^fd00:10:96::/);
    }
  });

  it('netcheck: every case green in each family, IPv6 negative controls answer nothing', async () => {
    const r = await cli(['netcheck', '--name', DUAL, '--json']);
    const out = report(r.stdout);
    expect((out as { families?: string[] }).families).toEqual(['ipv4', 'ipv6']);
    expect(mismatches(out), r.stderr.slice(-2000)).toEqual([]);
    expect(statuses(out, 'ipv4')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(statuses(out, 'ipv6')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(out.passed).toBe(22);
    const v6Tables = out.cases.filter((c) => (c as { family?: string }).family === 'ipv6').flatMap((c) => c.tables);
    // an unused IPv6 pod address and a removed Service port, probed and silent
    const noPod = v6Tables.find((t) => t.name === 'pod-to-pod/tcp (ipv6)')!.cells.filter((c) => /no pod/.test(c.target));
    expect(noPod.length).toBeGreaterThan(0);
    expect(noPod.every((c) => c.expected === false && c.observed === false)).toBe(true);
    expect(noPod[0]!.target).toMatch(/^fd00:10:244:/);
    const removed = v6Tables.find((t) => t.name === 'clusterip/port-removed (ipv6)')!.cells.filter((c) => /removed/.test(c.target));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((c) => c.observed === false)).toBe(true);
    expect(removed[0]!.target).toMatch(/fd00:10:96::/);
    // AAAA records of a headless Service, one per ready pod
    expect(v6Tables.find((t) => t.name === 'headless/dns (ipv6)')!.cells.some((c) => /^AAAA fd00:10:244:/.test(c.target) && c.observed)).toBe(true);
    expect(r.code).toBe(0);
    console.log(`[${DUAL}] netcheck cells: ${out.cells.asExpected}/${out.cells.total} as expected`);
  });

  it('clean leaves nothing of the cluster', async () => {
    expect((await cli(['clean', '--name', DUAL])).code).toBe(0);
    expect(await leftovers(DUAL)).toEqual([]);
  });
});

describe('--ip-family ipv6 on bridge', () => {
  const k = kubectlFor(SIX);

  it('up: nodes, pods and Services have IPv6 addresses only', async () => {
    const r = await cli(['up', '--name', SIX, '--ip-family', 'ipv6', '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.242.0.0/24', '--dind-subnet6', 'fd00:10:242::/64']);
    expect(r.code, r.stderr).toBe(0);
    expect(readyNodes((await k('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1']);
    for (const n of items((await k('get', 'nodes', '-o', 'json')).stdout)) {
      const internal = (n.status.addresses as { type: string; address: string }[]).filter((a) => a.type === 'InternalIP').map((a) => a.address);
      expect(internal).toHaveLength(1);
      expect(internal[0]).toMatch(/^fd00:10:242::\d$/);
    }
    for (const p of items((await k('get', 'pods', '-A', '-o', 'json')).stdout)) {
      expect(((p.status.podIPs as { ip: string }[]) ?? []).map((x) => isV6(x.ip)), p.metadata.name).toEqual([true]);
    }
    const kubernetes = JSON.parse((await k('get', 'service', 'kubernetes', '-o', 'json')).stdout).spec as { clusterIPs: string[] };
    expect(kubernetes.clusterIPs).toEqual(['fd00:10:96::1']);
  });

  it('netcheck: every case green in IPv6', async () => {
    const r = await cli(['netcheck', '--name', SIX, '--json']);
    const out = report(r.stdout);
    expect((out as { families?: string[] }).families).toEqual(['ipv6']);
    expect(mismatches(out), r.stderr.slice(-2000)).toEqual([]);
    expect(statuses(out, 'ipv6')).toEqual(EVERY_CASE_WITHOUT_INGRESS);
    expect(out.passed).toBe(11);
    expect(r.code).toBe(0);
    console.log(`[${SIX}] netcheck cells: ${out.cells.asExpected}/${out.cells.total} as expected`);
  });

  it('clean leaves nothing of the cluster', async () => {
    expect((await cli(['clean', '--name', SIX])).code).toBe(0);
    expect(await leftovers(SIX)).toEqual([]);
  });
});
