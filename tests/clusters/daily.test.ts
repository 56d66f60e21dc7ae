import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clean, cidrsOverlap } from '@local-cluster/core';
import { cli, driver, leftovers, run, toolHome } from './helpers.js';
import { dockerDriver } from '@local-cluster/docker-driver';

// The everyday commands: a second cluster with default settings beside a network that holds the
// default subnet (a look-alike the tool must not touch), the cluster's own kubectl, status, and
// export logs.
const NAME = `daily-${process.pid}`;
const LOOKALIKE = `local-cluster-lookalike-${process.pid}`;
const DEFAULT_SUBNET = '10.192.0.0/16';

async function docker(...args: string[]) {
  return run('docker', args);
}

/** The engine's networks before the test's cluster exists (the look-alike among them): `clean` must leave every one. */
let foreign: string[] = [];

beforeAll(async () => {
  // an unlabelled network with the default subnet, unless something holds it already
  const taken = (await driver.listAllNetworks()).some((n) => n.subnets.some((s) => cidrsOverlap(s, DEFAULT_SUBNET)));
  if (!taken) {
    const r = await docker('network', 'create', '--subnet', DEFAULT_SUBNET, '--label', 'dev.local-cluster.cluster=look-alike', LOOKALIKE);
    expect(r.code, r.stderr).toBe(0);
  }
  foreign = (await driver.listAllNetworks()).map((n) => n.name).sort();
});

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await docker('network', 'rm', LOOKALIKE);
});

describe('everyday commands', () => {
  it('`up` with the default subnet taken picks a free one, says so, and leaves the other network alone', async () => {
    const r = await cli(['up', '--name', NAME, '--num-nodes', '1', '--addons', '']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/dind\.subnet 10\.192\.0\.0\/16 is taken by another Docker network; using 10\.\d+\.0\.0\/16/);
    const ours = (await driver.listNetworks({ cluster: NAME }))[0]!;
    expect(ours.subnets[0]).not.toBe(DEFAULT_SUBNET);
    const others = (await driver.listAllNetworks()).filter((n) => n.name !== ours.name);
    expect(others.some((n) => n.subnets.some((s) => cidrsOverlap(s, ours.subnets[0]!)))).toBe(false);
    // `up` again finds its own network's subnet (so the snapshot still matches) and says the cluster is up
    const again = await cli(['up', '--name', NAME, '--num-nodes', '1', '--addons', '']);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(again.stderr).not.toContain('is taken by another Docker network');
  });

  it('`kubectl` runs the cluster\'s own kubectl with its kubeconfig, and ~/.local-cluster/kubectl links to it', async () => {
    const r = await cli(['kubectl', '--cluster', NAME, 'get', 'nodes', '-o', 'name']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['node/kube-master', 'node/kube-node-1']);
    const version = await cli(['kubectl', '--cluster', NAME, 'version', '--client', '-o', 'json']);
    expect(JSON.parse(version.stdout).clientVersion.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    // kubectl's own exit code and flags pass through
    const missing = await cli(['kubectl', '--cluster', NAME, 'get', 'pod', 'no-such-pod']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('pods "no-such-pod" not found');
    const link = join(toolHome, 'kubectl');
    expect(existsSync(link)).toBe(true);
    expect(readlinkSync(link)).toMatch(/kubectl$/);
  });

  it('`status` shows the nodes Ready with their versions and memory, the CNI and the API server', async () => {
    const r = await cli(['status', '--name', NAME, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ name: NAME, state: 'running', cni: 'bridge', proxyMode: 'iptables', addons: [] });
    expect(s.apiServer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(s.nodes.map((n: { name: string; ready: string }) => [n.name, n.ready])).toEqual([
      ['kube-master', 'Ready'],
      ['kube-node-1', 'Ready'],
    ]);
    for (const n of s.nodes) expect(n.memory).toMatch(/^\d+ MiB$/);
    const text = await cli(['status', '--name', NAME]);
    expect(text.stdout).toMatch(/kube-master\s+control-plane\s+running\s+\S+\s+Ready\s+v1\./);
    const none = await cli(['status', '--name', 'daily-no-such-cluster']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('There is no cluster "daily-no-such-cluster"');
  });

  it('`export logs DIR` writes every node\'s journal, kubelet and containerd logs, pod logs and a cluster-info dump', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lc-logs-')), 'out');
    const r = await cli(['export', 'logs', dir, '--name', NAME]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Logs of cluster "${NAME}" in ${dir}`);
    for (const node of ['kube-master', 'kube-node-1']) {
      for (const file of ['journal.log', 'kubelet.log', 'containerd.log', 'crictl-ps.txt', 'network.txt', 'container.log']) {
        expect(existsSync(join(dir, node, file)), `${node}/${file}`).toBe(true);
      }
      expect(readFileSync(join(dir, node, 'kubelet.log'), 'utf8')).toMatch(/kubelet/);
    }
    // the API server's own pod log, as the kubelet keeps it
    expect(readdirSync(join(dir, 'kube-master', 'pods')).some((d) => d.startsWith('kube-system_kube-apiserver-kube-master'))).toBe(true);
    expect(readdirSync(join(dir, 'local-cluster-cluster-info'))).toContain('kube-system');
    expect(readFileSync(join(dir, 'overview.txt'), 'utf8')).toContain('kube-master');
  });

  it('a look-alike container with a node\'s name (no labels) makes `up` fail naming it, and is left alone', async () => {
    const look = `daily-look-${process.pid}`;
    const container = `local-cluster-${look}-kube-master`;
    // an empty image of the user's, and a container of it with the name our control plane would take
    const imported = await run('bash', ['-c', 'tar cf - --files-from /dev/null | docker import - local-cluster-test-lookalike:1']);
    expect(imported.code, imported.stderr).toBe(0);
    expect((await docker('create', '--name', container, 'local-cluster-test-lookalike:1', '/nothing')).code).toBe(0);
    try {
      const r = await cli(['up', '--name', look, '--num-nodes', '0', '--addons', '', '--dind-subnet', '10.223.0.0/16']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(container);
      expect((await docker('inspect', '--format', '{{.State.Status}}', container)).stdout.trim()).toBe('created');
      expect(await leftovers(look)).toEqual([]);
    } finally {
      await docker('rm', '-f', container);
      await docker('rmi', 'local-cluster-test-lookalike:1');
    }
  });

  it('`--privileged always` fails in preflight naming the setting where the engine refuses privileged containers (these machines), and makes nothing; elsewhere it runs the node privileged', async () => {
    const name = `daily-priv-${process.pid}`;
    const r = await cli(['up', '--name', name, '--num-nodes', '0', '--addons', '', '--privileged', 'always']);
    if (!(await dockerDriver({ securityMode: 'always' }).info()).privilegedSupported) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('dind.privileged is "always"');
      expect(r.stderr).toContain('--privileged auto');
    } else {
      expect(r.code, r.stderr).toBe(0);
      expect((await docker('inspect', '--format', '{{.HostConfig.Privileged}}', `local-cluster-${name}-kube-master`)).stdout.trim()).toBe('true');
      expect((await cli(['clean', '--name', name])).code).toBe(0);
    }
    expect(await leftovers(name)).toEqual([]);
  });

  it('the look-alike network, and every other network the engine had before, is still there after `clean`', async () => {
    await clean({ driver, cluster: NAME });
    const names = (await driver.listAllNetworks()).map((n) => n.name);
    expect(foreign.filter((n) => !names.includes(n))).toEqual([]);
  });
});
