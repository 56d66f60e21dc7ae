import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, readyNodes, toolHome } from './helpers.js';

// Several control planes (stacked etcd) behind the HAProxy load balancer: losing the control
// plane `kubeadm init` ran on keeps the API answering, reads and writes, and a new pod still
// gets scheduled and run (leader election moves the scheduler and controller manager).
const NAME = `ha-${process.pid}`;
const ARGS = ['--name', NAME, '--control-planes', '3', '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.240.0.0/16'];
const kubectl = kubectlFor(NAME);
const ALL = ['kube-master', 'kube-master-2', 'kube-master-3', 'kube-node-1'];

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

async function waitReadyNodes(names: string[], timeoutMs = 300_000): Promise<void> {
  await waitFor(
    `${names.join(', ')} Ready`,
    async () => {
      const nodes = await kubectl('get', 'nodes', '-o', 'json');
      return nodes.code === 0 && readyNodes(nodes.stdout).join() === [...names].sort().join() ? true : undefined;
    },
    { timeoutMs, intervalMs: 2000 },
  );
}

describe('several control planes', () => {
  it('refuses a control-plane count it cannot make, naming the setting, and makes nothing', async () => {
    const r = await cli(['up', '--name', `${NAME}-bad`, '--control-planes', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster\.controlPlanes|--control-planes/);
    expect(await leftovers(`${NAME}-bad`)).toEqual([]);
  });

  it('three control planes behind a load balancer survive losing the first one, come back from the snapshot, and leave nothing after clean', async () => {
    const r = await cli(['up', ...ARGS]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    await waitReadyNodes(ALL, 60_000);
    const cps = await kubectl('get', 'nodes', '-l', 'node-role.kubernetes.io/control-plane', '-o', 'name');
    expect(cps.stdout.trim().split('\n').sort()).toEqual(['node/kube-master', 'node/kube-master-2', 'node/kube-master-3']);
    const etcd = await kubectl('-n', 'kube-system', 'get', 'pods', '-l', 'component=etcd', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}={.status.phase}{"\\n"}{end}');
    expect(etcd.stdout.trim().split('\n').sort()).toEqual(['kube-master-2=Running', 'kube-master-3=Running', 'kube-master=Running']);

    // the kubeconfig reaches the API through the load balancer's published port; the control planes publish none
    const [lb] = await driver.listNodes({ cluster: NAME, role: 'load-balancer' });
    expect(lb, 'the load balancer container').toBeDefined();
    const server = /server:\s*https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(join(toolHome, 'clusters', NAME, 'admin.conf'), 'utf8'))?.[1];
    expect(Number(server)).toBe(await lb!.hostPort(6443));
    const nodes = await driver.listNodes({ cluster: NAME, role: 'node' });
    for (const n of nodes) expect(await n.hostPort(6443)).toBeUndefined();

    // stop the first control plane (kubeadm init's): the API still answers, writes land, a pod runs
    const first = nodes.find((n) => n.hostname === 'kube-master')!;
    await first.stop();
    await waitFor('a write through the load balancer', async () => ((await kubectl('create', 'configmap', 'written-while-down', '--from-literal=k=v')).code === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 1000,
    });
    expect((await kubectl('get', 'configmap', 'written-while-down', '-o', 'jsonpath={.data.k}')).stdout).toBe('v');
    const pod = await kubectl('run', 'while-down', '--image=docker.io/local-cluster/toolbox:1', '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'sh', '-c', 'echo scheduled-without-kube-master');
    expect(pod.code, pod.stderr).toBe(0);
    await waitFor('pod "while-down" to succeed', async () => ((await kubectl('get', 'pod', 'while-down', '-o', 'jsonpath={.status.phase}')).stdout === 'Succeeded' ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 2000,
    });
    expect((await kubectl('logs', 'while-down')).stdout.trim()).toBe('scheduled-without-kube-master');

    // `up` starts the stopped control plane again; every node Ready
    const again = await cli(['up', ...ARGS]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    await waitReadyNodes(ALL);

    // down + up: restored from the snapshot with its data, behind a new load balancer
    expect((await cli(['down', '--name', NAME])).code).toBe(0);
    expect(await driver.listNodes({ cluster: NAME, role: 'load-balancer' })).toEqual([]);
    const restored = await cli(['up', ...ARGS]);
    expect(restored.code, restored.stderr.slice(-3000)).toBe(0);
    expect(restored.stdout + restored.stderr).toMatch(/restored from its snapshot/);
    await waitReadyNodes(ALL, 60_000);
    expect((await kubectl('get', 'configmap', 'written-while-down', '-o', 'jsonpath={.data.k}')).stdout).toBe('v');

    const cleaned = await cli(['clean', '--name', NAME]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });
});
