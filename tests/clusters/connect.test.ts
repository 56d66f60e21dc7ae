import { afterAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, run } from './helpers.js';
import { controlPlaneIp, probePod, webBehindNodePort } from './cross-cluster.js';

// Two clusters joined by `local-cluster connect`: a pod of the first reads the second's API server
// (/version, at the address `kubeconfig --internal` names), a NodePort Service of the second, and a
// pod of the second by its address (the pod subnets differ, so `connect` routes them).
const A = `kc-a-${process.pid}`;
const B = `kc-b-${process.pid}`;
const inA = kubectlFor(A);
const inB = kubectlFor(B);

afterAll(async () => {
  await clean({ driver, cluster: B }).catch(() => undefined);
  await clean({ driver, cluster: A }).catch(() => undefined);
});

/** The containers attached to a cluster's network, to see that a refusal attached nothing. */
async function attachedTo(cluster: string): Promise<string> {
  return (await run('docker', ['network', 'inspect', `local-cluster-${cluster}`, '--format', '{{range .Containers}}{{.Name}} {{end}}'])).stdout;
}

describe('connect refuses a cluster that does not exist, before anything is changed', () => {
  it('neither exists', async () => {
    const r = await cli(['connect', `kc-none-${process.pid}`, `kc-none2-${process.pid}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "kc-none-${process.pid}" does not exist`);
    expect(await leftovers(`kc-none-${process.pid}`)).toEqual([]);
    expect(await leftovers(`kc-none2-${process.pid}`)).toEqual([]);
  });
});

describe('two connected clusters', () => {
  it('both come up (the second with its own pod subnet)', async () => {
    const a = await cli(['up', '--name', A, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.230.0.0/16']);
    expect(a.code, a.stderr.slice(-3000)).toBe(0);
    const b = await cli(['up', '--name', B, '--num-nodes', '0', '--addons', '', '--dind-subnet', '10.239.0.0/16', '--pod-subnet', '10.245.0.0/16']);
    expect(b.code, b.stderr.slice(-3000)).toBe(0);
  });

  it('connect with one side missing is refused naming it, and attaches nothing', async () => {
    const before = await attachedTo(A);
    const r = await cli(['connect', A, `kc-none-${process.pid}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cluster "kc-none-${process.pid}" does not exist`);
    expect(await attachedTo(A)).toBe(before);
    expect(before.trim().split(' ').sort()).toEqual([`local-cluster-${A}-kube-master`, `local-cluster-${A}-kube-node-1`]);
    expect(await leftovers(`kc-none-${process.pid}`)).toEqual([]);
    expect((await cli(['connect', A, A])).stderr).toContain(`Cannot connect cluster "${A}" to itself`);
  });

  it('connect joins them and says how each is reached', async () => {
    const r = await cli(['connect', A, B]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Clusters "${A}" and "${B}" are connected (3 node attachment(s))`);
    expect(r.stdout).toContain(`${B}: network local-cluster-${B} (10.239.0.0/16), API server https://10.239.0.2:6443, pod subnet 10.245.0.0/16`);
    expect(r.stdout).toMatch(/pod addresses routed: .*10\.245\.0\.0\/24 via 10\.239\.0\.2/);
    // again: nothing changes, nothing fails
    expect((await cli(['connect', A, B])).code).toBe(0);
  });

  it("a pod of the first reads the second's API server /version, its NodePort and its pod", async () => {
    const podIp = await webBehindNodePort(inB, B, 30081);
    expect(podIp).toMatch(/^10\.245\./);
    await probePod(inA);

    // the second cluster's API server, where its internal kubeconfig points
    const internal = await cli(['kubeconfig', '--internal', '--name', B]);
    const server = (yaml.load(internal.stdout) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    expect(server).toBe('https://10.239.0.2:6443');
    const version = await inA('exec', 'probe', '--', 'wget', '--no-check-certificate', '-qO-', `${server}/version`);
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ major: '1', minor: '34' });

    const nodeIp = await controlPlaneIp(inB);
    const nodePort = await inA('exec', 'probe', '--', 'wget', '-qO-', `http://${nodeIp}:30081/`);
    expect(nodePort.stdout).toBe(`hello from ${B}\n`);
    const pod = await inA('exec', 'probe', '--', 'wget', '-qO-', `http://${podIp}:8080/`);
    expect(pod.stdout).toBe(`hello from ${B}\n`);
  });

  it('clean of either leaves nothing of it behind, connected or not', async () => {
    expect((await cli(['clean', '--name', B])).code).toBe(0);
    expect(await leftovers(B)).toEqual([]);
    expect((await cli(['clean', '--name', A])).code).toBe(0);
    expect(await leftovers(A)).toEqual([]);
  });
});
