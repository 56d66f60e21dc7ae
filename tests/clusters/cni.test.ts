import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, LABELS } from '@local-cluster/core';
import { FLANNEL_CNI_IMAGE, FLANNEL_IMAGE } from '@local-cluster/cni-flannel';
import { cli, driver, kubectlFor, leftovers, readyNodes, ROOT, toolHome } from './helpers.js';
import { expectAllGreen, report } from './netcheck-helpers.js';

const FLANNEL = `e2e-flannel-${process.pid}`;
const PTP = `e2e-ptp-${process.pid}`;

afterAll(async () => {
  await clean({ driver, cluster: FLANNEL }).catch(() => undefined);
  await clean({ driver, cluster: PTP }).catch(() => undefined);
});

// flannel (kube-proxy nftables, no addons: the dashboard file tests them) also carries netcheck's
// second table run: every case green
describe('flannel, its images built offline by the image factory', () => {
  const k = kubectlFor(FLANNEL);

  it('`images` lists what the config needs and builds it on request', async () => {
    const built = await cli(['images', '--cni-plugin', 'flannel', '--build', '--json']);
    expect(built.code, built.stderr).toBe(0);
    const statuses = JSON.parse(built.stdout) as { ref: string; state: string; neededBy: string; size: number }[];
    expect(statuses.map((s) => s.ref)).toEqual(expect.arrayContaining([FLANNEL_IMAGE, FLANNEL_CNI_IMAGE]));
    for (const s of statuses.filter((x) => x.neededBy === 'CNI plugin "flannel"')) {
      // an image a user pulled under that name would say "external" and be used as is
      expect(['built', 'external']).toContain(s.state);
      expect(s.size).toBeGreaterThan(1e6);
    }
    // warm: nothing to do, fast
    const started = performance.now();
    const warm = await cli(['images', '--cni-plugin', 'flannel', '--json']);
    expect(warm.code).toBe(0);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect((JSON.parse(warm.stdout) as { state: string }[]).every((s) => s.state !== 'missing' && s.state !== 'stale')).toBe(true);
  });

  it('up --cni-plugin flannel: three Ready nodes, a flannel pod Running on each, VXLAN between them', async () => {
    const r = await cli(['up', '--name', FLANNEL, '--cni-plugin', 'flannel', '--kube-proxy-mode', 'nftables', '--num-nodes', '2', '--addons', '', '--dind-subnet', '10.197.0.0/16']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Load images into the nodes/);
    expect(readyNodes((await k('get', 'nodes', '-o', 'json')).stdout)).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    const pods = JSON.parse((await k('-n', 'kube-flannel', 'get', 'pods', '-o', 'json')).stdout) as {
      items: { spec: { nodeName: string }; status: { phase: string } }[];
    };
    expect(pods.items.filter((p) => p.status.phase === 'Running').map((p) => p.spec.nodeName).sort()).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    // flanneld made its VXLAN device and wrote the lease the CNI plugin reads, on every node
    for (const node of await driver.listNodes({ cluster: FLANNEL, role: 'node' })) {
      expect((await node.exec(['ip', '-d', 'link', 'show', 'flannel.1'])).stdout).toContain('vxlan');
      expect((await node.exec(['cat', '/run/flannel/subnet.env'])).stdout).toMatch(/FLANNEL_NETWORK=10\.244\.0\.0\/16/);
    }
    // pods get addresses from their node's flannel subnet, on the cni0 bridge flannel's plugin delegates to
    const dns = JSON.parse((await k('-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json')).stdout) as {
      items: { spec: { nodeName: string }; status: { podIP: string } }[];
    };
    expect(dns.items.length).toBeGreaterThan(0);
    for (const pod of dns.items) {
      const cidr = (await k('get', 'node', pod.spec.nodeName, '-o', 'jsonpath={.spec.podCIDR}')).stdout.trim();
      const prefix = cidr.replace(/\.0\/24$/, '.');
      expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(pod.status.podIP.startsWith(prefix)).toBe(true);
      const node = (await driver.listNodes({ cluster: FLANNEL, role: 'node' })).find((n) => n.hostname === pod.spec.nodeName)!;
      expect((await node.exec(['ip', '-4', 'addr', 'show', 'cni0'])).stdout).toContain(`inet ${prefix}1/24`);
    }
  });

  it('`check` passes: pod to pod across nodes, ClusterIP by address and DNS name, NodePort on every node', async () => {
    const r = await cli(['check', '--name', FLANNEL]);
    expect(r.stdout, r.stdout + r.stderr).toMatch(/\b6 passed, 0 failed, 1 skipped/);
    // flannel does not enforce NetworkPolicy: that check does not apply, and says why
    expect(r.stdout).toContain('SKIP NetworkPolicy');
    expect(r.stdout).toContain('CNI plugin "flannel" does not enforce NetworkPolicy');
    expect(r.code).toBe(0);
  });

  it('netcheck: every case passes with flannel and kube-proxy nftables', async () => {
    const r = await cli(['netcheck', '--name', FLANNEL, '--json']);
    const out = report(r.stdout);
    expect(out).toMatchObject({ cni: 'flannel', proxyMode: 'nftables' });
    expectAllGreen(out, r.stderr);
    expect(r.code).toBe(0);
  });

  it('a small image built by the factory runs in a pod on a node', async () => {
    const { ensureImage, loadImagesIntoNodes, imageCacheDir } = await import('@local-cluster/core');
    const logger = { info: () => undefined, debug: () => undefined, warn: () => undefined };
    const signal = new AbortController().signal;
    const image = { ref: 'docker.io/local-cluster-test/hello:1', recipe: { debianPackages: ['hello'], entrypoint: ['/usr/bin/hello'], user: '65532' } };
    await ensureImage({ image, neededBy: 'a test' }, { driver, cacheDir: imageCacheDir(toolHome), logger, signal });
    const info = await driver.images.inspect(image.ref);
    expect(info?.labels[LABELS.managed]).toBe('true');
    // no shell unless asked
    const nodes = await driver.listNodes({ cluster: FLANNEL, role: 'node' });
    await loadImagesIntoNodes(driver, nodes, [image.ref], { cacheDir: imageCacheDir(toolHome), logger, signal });
    await k('run', 'hello', `--image=${image.ref}`, '--image-pull-policy=Never', '--restart=Never', '--overrides', '{"spec":{"nodeName":"kube-node-2"}}');
    const waited = await k('wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/hello', '--timeout=120s');
    expect(waited.code, waited.stderr).toBe(0);
    expect((await k('logs', 'hello')).stdout.trim()).toBe('Hello, world!');
    const shell = await k('exec', 'hello', '--', 'sh', '-c', 'true');
    expect(shell.code).not.toBe(0);
    await driver.images.remove(image.ref, { role: 'image' });
  });

  it('clean leaves nothing of the cluster; the built images stay cached', async () => {
    expect((await cli(['clean', '--name', FLANNEL])).code).toBe(0);
    expect(await leftovers(FLANNEL)).toEqual([]);
    expect(await driver.images.has(FLANNEL_IMAGE)).toBe(true);
  });
});

describe('a third-party CNI package, loaded by its npm name', () => {
  it('brings up a working cluster with the example package from examples/cni-ptp', async () => {
    // a project directory of a user: config file + node_modules, nothing else
    const project = mkdtempSync(join(tmpdir(), 'lc-third-party-'));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(join(ROOT, 'examples', 'cni-ptp'), join(project, 'node_modules', 'local-cluster-cni-ptp'));
    writeFileSync(join(project, 'config.yaml'), `cluster:\n  name: ${PTP}\n  numNodes: 1\n  cniPlugin: local-cluster-cni-ptp\ndind:\n  subnet: 10.198.0.0/16\n`);
    const env = { LOCAL_CLUSTER_CONF: join(project, 'config.yaml') };
    const r = await cli(['up'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('CNI ptp-example');
    const checks = await cli(['check'], env);
    expect(checks.stdout, checks.stdout + checks.stderr).toMatch(/\b6 passed, 0 failed/);
    expect((await cli(['clean'], env)).code).toBe(0);
    expect(await leftovers(PTP)).toEqual([]);
  });
});
