import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, readyNodes, run } from './helpers.js';

// Services mode (node e2e's): etcd, kube-apiserver and the API-only controllers in one
// unprivileged container; a kubeconfig that works from the host; the quick checks that apply
// pass and the node ones say why they skip; what needs nodes is refused by name.
const NAME = `svc-${process.pid}`;
const ARGS = ['--name', NAME, '--mode', 'services', '--dind-subnet', '10.250.0.0/16'];
const kubectl = kubectlFor(NAME);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await clean({ driver, cluster: `${NAME}-bad` }).catch(() => undefined);
});

describe('services mode', () => {
  it('refuses node settings beside --mode services, naming the conflicting setting, and makes nothing', async () => {
    for (const [flag, value, setting] of [
      ['--cni-plugin', 'calico', 'cluster.cniPlugin'],
      ['--num-nodes', '2', 'cluster.numNodes'],
      ['--hollow-nodes', '3', 'cluster.hollowNodes'],
    ] as const) {
      const r = await cli(['up', '--name', `${NAME}-bad`, '--mode', 'services', flag, value]);
      expect(r.code, flag).not.toBe(0);
      expect(r.stderr).toContain(`${setting} (from flag ${flag}) conflicts with cluster.mode "services"`);
      expect(r.stderr).toContain(`Remove ${flag}`);
    }
    expect(await leftovers(`${NAME}-bad`)).toEqual([]);
  });

  it('serves the API from one unprivileged container: namespaces, service accounts and CRDs work, node checks skip, node commands are refused, and clean leaves nothing', async () => {
    const r = await cli(['up', ...ARGS]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/services mode/);

    // one container, not privileged and with no added capabilities
    const nodes = await driver.listNodes({ cluster: NAME, role: 'node' });
    expect(nodes.map((n) => n.hostname)).toEqual(['kube-master']);
    const hostConfig = JSON.parse((await run('docker', ['inspect', '--format', '{{json .HostConfig}}', nodes[0]!.name])).stdout) as { Privileged: boolean; CapAdd: string[] | null };
    expect(hostConfig.Privileged).toBe(false);
    expect(hostConfig.CapAdd ?? []).toEqual([]);
    const inspect = await cli(['status', '--name', NAME, '--json']);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ mode: 'services', state: 'running' });

    // the exported kubeconfig works from the host: no nodes, the system namespaces, a namespace
    // gets its default ServiceAccount from the controller manager
    expect((await kubectl('get', 'nodes', '-o', 'name')).stdout.trim()).toBe('');
    const ns = await kubectl('get', 'namespaces', '-o', 'name');
    expect(ns.stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
    expect((await kubectl('create', 'namespace', 'svc-test')).code).toBe(0);
    const sa = await waitFor('the default ServiceAccount of namespace svc-test', async () => {
      const r = await kubectl('-n', 'svc-test', 'get', 'serviceaccount', 'default', '-o', 'name');
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, { timeoutMs: 10_000, intervalMs: 250 });
    expect(sa).toBe('serviceaccount/default');
    // a token for it is issued (TokenRequest: the API server's own signing key)
    expect((await kubectl('-n', 'svc-test', 'create', 'token', 'default')).stdout.split('.')).toHaveLength(3);

    const quick = await cli(['check', '--name', NAME]);
    expect(quick.code, quick.stdout + quick.stderr).toBe(0);
    expect(quick.stdout).toMatch(/PASS the API server answers \/readyz/);
    expect(quick.stdout).toMatch(/PASS namespaces:/);
    expect(quick.stdout).toMatch(/PASS CustomResourceDefinitions:/);
    expect(quick.stdout).toMatch(/SKIP nodes are Ready: services mode has no nodes/);
    expect(quick.stdout).toMatch(/3 passed, 0 failed, 4 skipped/);

    const upstream = await cli(['e2e', '--name', NAME]);
    expect(upstream.code).not.toBe(0);
    expect(upstream.stderr).toMatch(/runs in services mode .* need nodes/);
    const load = await cli(['load', 'image', 'local-cluster-test/busybox:missing', '--name', NAME]);
    expect(load.code).not.toBe(0);

    // up again: already up, nothing changed
    const again = await cli(['up', ...ARGS]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already up/);

    // stopped (as after an engine restart): up starts it again with its data
    await nodes[0]!.stop();
    const resumed = await cli(['up', ...ARGS]);
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    expect((await kubectl('get', 'namespace', 'svc-test', '-o', 'name')).stdout.trim()).toBe('namespace/svc-test');

    const cleaned = await cli(['clean', '--name', NAME]);
    expect(cleaned.code).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });

  it('takes KWOK fake nodes: --fake-nodes 300 gives 300 Ready Node objects beside the one container, back after down + up', async () => {
    const args = [...ARGS, '--fake-nodes', '300'];
    const r = await cli(['up', ...args]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/300 KWOK fake nodes/);
    const ready = async () => {
      const nodes = await kubectl('get', 'nodes', '-o', 'json');
      return readyNodes(nodes.stdout).filter((n) => n.startsWith('kwok-node-')).length;
    };
    expect(await ready()).toBe(300);
    expect((await driver.listNodes({ cluster: NAME, role: 'fake-nodes' })).length).toBe(1);
    expect((await cli(['down', '--name', NAME])).code).toBe(0);
    expect(await driver.listNodes({ cluster: NAME })).toEqual([]);
    const back = await cli(['up', ...args]);
    expect(back.code, back.stderr.slice(-3000)).toBe(0);
    expect(await ready()).toBe(300);
    expect((await cli(['clean', '--name', NAME])).code).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });
});
