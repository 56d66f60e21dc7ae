import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver } from './helpers.js';
import { expectAllGreen, report } from './netcheck-helpers.js';

// Service truth tables on flannel with kube-proxy nftables (every case green), and on one node
// (the cases that need two are skipped and say so). Bridge with iptables: netcheck.test.ts.
const FLANNEL = `netcheck-fl-${process.pid}`;
const SINGLE = `netcheck-one-${process.pid}`;

afterAll(async () => {
  for (const cluster of [FLANNEL, SINGLE]) await clean({ driver, cluster }).catch(() => undefined);
});

describe('netcheck: flannel, kube-proxy nftables', () => {
  it('every case passes', async () => {
    const upRun = await cli(['up', '--name', FLANNEL, '--dind-subnet', '10.219.0.0/16', '--addons', '', '--cni-plugin', 'flannel', '--kube-proxy-mode', 'nftables']);
    expect(upRun.code, upRun.stderr.slice(-3000)).toBe(0);
    try {
      const r = await cli(['netcheck', '--name', FLANNEL, '--json']);
      const out = report(r.stdout);
      expect(out).toMatchObject({ cni: 'flannel', proxyMode: 'nftables' });
      expectAllGreen(out, r.stderr);
      expect(r.code).toBe(0);
    } finally {
      await clean({ driver, cluster: FLANNEL });
    }
  });
});

describe('netcheck: one node', () => {
  it('cases that need two nodes are skipped and say so; the others run', async () => {
    const upRun = await cli(['up', '--name', SINGLE, '--dind-subnet', '10.220.0.0/16', '--addons', '', '--num-nodes', '0']);
    expect(upRun.code, upRun.stderr.slice(-3000)).toBe(0);
    const r = await cli(['netcheck', '--name', SINGLE, 'pod-to-pod', 'hairpin', 'affinity']);
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toContain(`SKIP pod-to-pod: needs 2 nodes; cluster "${SINGLE}" has 1`);
    expect(r.stdout).toContain(`SKIP affinity: needs 2 nodes; cluster "${SINGLE}" has 1`);
    expect(r.stdout).toContain('PASS hairpin/tcp');
    expect(r.stdout).toMatch(/1 passed, 0 failed, 2 skipped/);
    await clean({ driver, cluster: SINGLE });
  });
});
