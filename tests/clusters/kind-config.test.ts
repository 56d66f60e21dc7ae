import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, ROOT, run, toolHome } from './helpers.js';

// kind's own cluster configs, as kind's user guide writes them (fixtures in
// packages/core/test/fixtures/kind), given to `up --config` as they are: each brings up the
// equivalent cluster, checked through the API and the engine. Addons are left out (--addons '')
// to save time; kind's default StorageClass maps to the storage addon, which addons.test.ts covers.
const PID = process.pid;
const KIND = (name: string) => join(ROOT, 'packages/core/test/fixtures/kind', name);
const dir = mkdtempSync(join(tmpdir(), 'lc-kind-'));
const made: string[] = [];

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

type Node = { metadata: { name: string; labels: Record<string, string> }; status: { capacity: Record<string, string>; conditions: { type: string; status: string }[] } };

async function nodesOf(name: string): Promise<Node[]> {
  const r = await kubectlFor(name)('get', 'nodes', '-o', 'json');
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: Node[] }).items;
}

async function apiServerCommand(name: string): Promise<string[]> {
  const r = await kubectlFor(name)('-n', 'kube-system', 'get', 'pod', 'kube-apiserver-kube-master', '-o', 'jsonpath={.spec.containers[0].command}');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

/** `up --config FILE` of a kind config, under a name and subnet of this file's. */
async function upKind(file: string, name: string, subnet: string): Promise<string> {
  made.push(name);
  const r = await cli(['up', '--config', file, '--name', name, '--dind-subnet', subnet, '--addons', '']);
  expect(r.code, r.stderr.slice(-3000) + r.stdout.slice(-2000)).toBe(0);
  return r.stdout + r.stderr;
}

afterAll(async () => {
  for (const name of made) await clean({ driver, cluster: name }).catch(() => undefined);
});

describe('a kind config with a field of another apiVersion', () => {
  it('is refused naming the field, and nothing is made', async () => {
    const name = `kc-bad-${PID}`;
    const r = await cli(['up', '--config', KIND('unsupported-field.yaml'), '--name', name, '--dind-subnet', '10.224.0.0/16']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("field nodes[1].replicas is not part of kind's kind.x-k8s.io/v1alpha4 Cluster config");
    expect(await leftovers(name)).toEqual([]);
  });
});

describe("kind's user-guide configs bring up the equivalent cluster", () => {
  it('multi-node: one control plane and two workers', async () => {
    const name = `kc-multi-${PID}`;
    await upKind(KIND('multi-node.yaml'), name, '10.225.0.0/16');
    const nodes = await nodesOf(name);
    const roles = nodes.map((n) => (n.metadata.labels['node-role.kubernetes.io/control-plane'] !== undefined ? 'control-plane' : 'worker')).sort();
    expect(roles).toEqual(['control-plane', 'worker', 'worker']);
    expect(nodes.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
    await clean({ driver, cluster: name });
  });

  it('ingress-ready: the control plane labelled ingress-ready=true, its ports published on the host', async () => {
    const name = `kc-ingress-${PID}`;
    // kind's example publishes host ports 80 and 443; free ones here, so that no other cluster
    // or service of this machine is in the way (the mapping is the same)
    const [http, https] = [await freePort(), await freePort()];
    const file = join(dir, 'ingress-ready.yaml');
    writeFileSync(file, readFileSync(KIND('ingress-ready.yaml'), 'utf8').replace('hostPort: 80\n', `hostPort: ${http}\n`).replace('hostPort: 443\n', `hostPort: ${https}\n`));
    await upKind(file, name, '10.226.0.0/16');
    const [master] = await nodesOf(name);
    expect(master!.metadata.labels['ingress-ready']).toBe('true');
    const inspect = await run('docker', ['inspect', `local-cluster-${name}-kube-master`, '--format', '{{json .HostConfig.PortBindings}}']);
    const bindings = JSON.parse(inspect.stdout) as Record<string, { HostIp: string; HostPort: string }[]>;
    expect(bindings['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(http) }]);
    expect(bindings['443/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(https) }]);
    await clean({ driver, cluster: name });
  });

  it('feature gates and runtime config: on the API server\'s flags', async () => {
    const name = `kc-gates-${PID}`;
    await upKind(KIND('feature-gates.yaml'), name, '10.227.0.0/16');
    expect(await apiServerCommand(name)).toEqual(expect.arrayContaining(['--feature-gates=CSIVolumeHealth=true', '--runtime-config=api/alpha=false']));
    const metrics = await kubectlFor(name)('get', '--raw', '/metrics');
    expect(metrics.stdout).toMatch(/kubernetes_feature_enabled\{name="CSIVolumeHealth",stage="ALPHA"\} 1/);
    await clean({ driver, cluster: name });
  });

  it("kubeadm patches: the API server's admission plugins, the worker's label and max-pods, a name in the API server's certificate", async () => {
    const name = `kc-patches-${PID}`;
    await upKind(KIND('kubeadm-patches.yaml'), name, '10.228.0.0/16');
    expect(await apiServerCommand(name)).toContain('--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook');
    const nodes = Object.fromEntries((await nodesOf(name)).map((n) => [n.metadata.name, n]));
    expect(nodes['kube-node-1']!.metadata.labels['my-label']).toBe('true');
    expect(nodes['kube-node-1']!.status.capacity.pods).toBe('50');
    expect(nodes['kube-master']!.status.capacity.pods).toBe('110');
    const kubeconfig = yaml.load(readFileSync(join(toolHome, 'clusters', name, 'admin.conf'), 'utf8')) as { clusters: { cluster: { server: string } }[] };
    const server = new URL(kubeconfig.clusters[0]!.cluster.server);
    const san = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: server.hostname, port: Number(server.port), rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().subjectaltname ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(san).toContain('DNS:my-hostname');
    await clean({ driver, cluster: name });
  });

  it('disableDefaultCNI: `up` returns with the nodes NotReady and says so', async () => {
    const name = `kc-nocni-${PID}`;
    const started = Date.now();
    const output = await upKind(KIND('no-cni.yaml'), name, '10.229.0.0/16');
    expect(output).toContain('No CNI (cluster.cniPlugin "none"): the nodes are NotReady until you install one (pod subnet 10.244.0.0/16).');
    const nodes = await nodesOf(name);
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['kube-master', 'kube-node-1']);
    expect(nodes.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status !== 'True'))).toBe(true);
    // CoreDNS waits for a CNI; `up` did not wait for it
    const dns = await kubectlFor(name)('-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.status.readyReplicas}');
    expect(dns.stdout).toBe('');
    console.log(`[${name}] up without a CNI in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await clean({ driver, cluster: name });
  });
});
