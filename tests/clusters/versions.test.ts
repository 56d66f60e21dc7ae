import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, NODE_CONTRACT } from '@local-cluster/core';
import { cli, driver, hostKubectl, leftovers, readyNodes, run, toolHome } from './helpers.js';

// Issue 14 "Versions": a release other than the default, built the same way from Go modules,
// runs here: Kubernetes v1.36.3 with containerd 2 (built from Go modules) on this cgroup v1
// host through the kubelet's failCgroupV1 opt-out. Versions the proxy does not serve, older
// than v1.32 or malformed are refused before anything is made. The first run builds the
// v1.36.3 binaries and node image (minutes); later runs find them cached.
// the same version scripts/test.sh builds in the background (suite-images.json)
const VERSION = (JSON.parse(readFileSync(new URL('./suite-images.json', import.meta.url), 'utf8')) as { otherKubernetesVersion: string }).otherKubernetesVersion;
const NAME = `ver-e2e-${process.pid}`;
const BAD = `ver-bad-${process.pid}`;
const SUBNET = '10.232.0.0/16';
const kubeconfig = join(toolHome, 'clusters', NAME, 'admin.conf');
const kubectl = (...args: string[]) => run(hostKubectl(VERSION), ['--kubeconfig', kubeconfig, ...args]);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
  await clean({ driver, cluster: BAD }).catch(() => undefined);
});

describe('Kubernetes versions other than the default', () => {
  const bad: [string, string, RegExp[]][] = [
    ['a version the Go module proxy does not serve', 'v1.36.99', [/source\.kubernetesVersion \(--kubernetes-version\) v1\.36\.99/, /does not serve k8s\.io\/kubernetes@v1\.36\.99/, /go list -m -versions k8s\.io\/kubernetes/]],
    ['a version older than v1.32', 'v1.31.0', [/source\.kubernetesVersion/, /--kubernetes-version/, /must be v1\.32\.0 or newer/]],
    ['garbage', 'garbage', [/source\.kubernetesVersion/, /--kubernetes-version/, /must be a Kubernetes release version such as v1\.36\.3/]],
  ];
  it.each(bad)('%s is refused before anything is made', async (_what, version, messages) => {
    const r = await cli(['up', '--name', BAD, '--kubernetes-version', version, '--num-nodes', '1', '--addons', '', '--dind-subnet', '10.233.0.0/16']);
    expect(r.code).not.toBe(0);
    for (const m of messages) expect(r.stderr).toMatch(m);
    expect(r.stderr).not.toMatch(/Ensure the node image|Create the nodes/);
    expect(await leftovers(BAD)).toEqual([]);
    expect((await run('docker', ['images', '-q', '--filter', `reference=local-cluster/node:${version}-*`])).stdout.trim()).toBe('');
  });

  it(`up --kubernetes-version ${VERSION}: Ready nodes at ${VERSION}, a running pod, containerd 2 on the nodes`, async () => {
    const started = performance.now();
    const up = await cli(['up', '--name', NAME, '--kubernetes-version', VERSION, '--num-nodes', '1', '--addons', '', '--dind-subnet', SUBNET]);
    console.log(`[${NAME}] up ${VERSION} in ${((performance.now() - started) / 1000).toFixed(0)}s`);
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    if ((await driver.info()).cgroupVersion === 1) {
      // the user is told why a 1.36 kubelet runs on this host, and what upstream wants instead
      expect(up.stderr).toMatch(new RegExp(`Kubernetes ${VERSION.replace(/\./g, '\\.')} on a cgroup v1 host: .*failCgroupV1.*cgroup v2`));
    }

    const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout) as {
      items: { metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } }[];
    };
    expect(readyNodes(JSON.stringify(nodes))).toEqual(['kube-master', 'kube-node-1']);
    for (const node of nodes.items) {
      expect(node.status.nodeInfo.kubeletVersion, node.metadata.name).toBe(VERSION);
      expect(node.status.nodeInfo.containerRuntimeVersion, node.metadata.name).toMatch(/^containerd:\/\/2\.\d+\.\d+/);
    }
    const version = JSON.parse((await kubectl('version', '-o', 'json')).stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(VERSION);
    expect(version.clientVersion.gitVersion).toBe(VERSION);

    // an ordinary pod on the worker runs and answers (CoreDNS, kube-proxy and the control plane run too)
    await kubectl('run', 'hello', `--image=${NODE_CONTRACT.toolboxImage}`, '--image-pull-policy=Never', '--overrides={"spec":{"nodeName":"kube-node-1"}}', '--command', '--', 'sleep', '3600');
    const ready = await kubectl('wait', '--for=condition=Ready', 'pod/hello', '--timeout=180s');
    expect(ready.code, ready.stderr).toBe(0);
    expect((await kubectl('exec', 'hello', '--', 'echo', 'hello from 1.36')).stdout.trim()).toBe('hello from 1.36');
    const system = JSON.parse((await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'json')).stdout) as { items: { metadata: { name: string }; spec: { containers: { image: string }[] }; status: { phase: string } }[] };
    for (const prefix of ['etcd-', 'kube-apiserver-', 'coredns-', 'kube-proxy-']) {
      expect(system.items.some((p) => p.metadata.name.startsWith(prefix) && p.status.phase === 'Running'), prefix).toBe(true);
    }
    // etcd and CoreDNS at the versions kubeadm v1.36.3 asks for (read off its constants.go at build time)
    const images = system.items.flatMap((p) => p.spec.containers.map((c) => c.image));
    expect(images).toContain('registry.k8s.io/etcd:3.6.8-0');
    expect(images).toContain('registry.k8s.io/coredns/coredns:v1.14.2');

    // containerd 2 and the built runc on every node
    for (const node of await driver.listNodes({ cluster: NAME, role: 'node' })) {
      const containerd = await node.exec(['containerd', '--version']);
      expect(containerd.stdout, node.hostname).toMatch(/containerd github\.com\/containerd\/containerd\/v2 v2\.\d+\.\d+/);
      expect((await node.exec(['runc', '--version'])).stdout, node.hostname).toMatch(/^runc version 1\.\d+\.\d+/m);
      expect((await node.exec(['systemctl', 'is-active', 'containerd'])).stdout.trim()).toBe('active');
      // the sandbox image containerd 2 pins is the release's pause
      expect((await node.exec(['grep', 'sandbox = ', '/etc/containerd/containerd2.toml'])).stdout).toContain('registry.k8s.io/pause:3.10.2');
    }
  });

  it('clean leaves nothing behind', async () => {
    const r = await cli(['clean', '--name', NAME]);
    expect(r.code, r.stderr).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });
});
