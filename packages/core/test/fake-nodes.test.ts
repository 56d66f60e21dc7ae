import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  apiAccessFromKubeconfig,
  configSchema,
  countReady,
  fakeNodeManifest,
  fakeNodeName,
  fakeNodesAddress,
  fakeNodesSpec,
  inParallel,
  kwokArgs,
  kwokImage,
  kwokPodCidr,
  kwokRbac,
  LABELS,
  loadConfig,
  planNodes,
  recipeProblems,
  renderClusterKubeadm,
  tokenKubeconfig,
  type CniPlugin,
} from '../src/index.js';
import { thrownBy } from './helpers.js';

describe('fake nodes (kwok)', () => {
  it('makes nodes as kwok documents them: annotated for kwok, labelled type=kwok and by hostname, tainted, with capacity', () => {
    const node = fakeNodeManifest(fakeNodeName(7)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(node.metadata.name).toBe('kwok-node-7');
    expect(node.metadata.annotations['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.metadata.labels).toMatchObject({ type: 'kwok', 'kubernetes.io/hostname': 'kwok-node-7' });
    expect(node.spec.taints).toEqual([{ key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' }]);
    expect(node.status.capacity).toEqual({ cpu: '32', memory: '256Gi', pods: '110' });
    expect(node.spec.podCIDR).toBeUndefined();
  });

  it('picks a pod address pool overlapping none of the cluster ranges', () => {
    expect(kwokPodCidr(['10.192.0.0/16', '10.244.0.0/16', '10.96.0.0/12'])).toBe('10.128.0.0/10');
    // weave's 10.32.0.0/12 is clear of 10.128.0.0/10 too; a dind subnet inside it is not
    expect(kwokPodCidr(['10.130.0.0/16', '10.244.0.0/16', '10.96.0.0/12'])).toBe('100.64.0.0/10');
    expect(() => kwokPodCidr(['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12'])).toThrow(/No range for the fake nodes' pod addresses/);
  });

  it('gives kwok the ClusterRole rules it needs without its CRDs, bound to its ServiceAccount', () => {
    const [[saPath, sa], [rolePath, role], [, binding]] = kwokRbac() as [[string, any], [string, any], [string, any]]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(saPath).toBe('/api/v1/namespaces/kube-system/serviceaccounts/kwok-controller');
    expect(sa.kind).toBe('ServiceAccount');
    expect(rolePath).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles/kwok-controller');
    const resources = role.rules.flatMap((r: { resources: string[] }) => r.resources).sort();
    expect(resources).toEqual(['events', 'leases', 'nodes', 'nodes/status', 'pods', 'pods/status']);
    expect(role.rules.some((r: { apiGroups: string[] }) => r.apiGroups.includes('kwok.x-k8s.io'))).toBe(false);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kwok-controller', namespace: 'kube-system' }]);
  });

  it('runs kwok as one plain container at the top of the cluster network, selecting nodes by annotation', () => {
    const config = configSchema.parse({ dind: { subnet: '10.246.0.0/16' }, cluster: { name: 'kw-x', fakeNodes: 10 } });
    expect(fakeNodesAddress(config)).toBe('10.246.255.254');
    const spec = fakeNodesSpec(config, 'local-cluster-kw-x', 'KUBECONFIG', '10.128.0.0/10');
    expect(spec).toMatchObject({ name: 'local-cluster-kw-x-kwok', network: 'local-cluster-kw-x', ip: '10.246.255.254', privileged: false });
    expect(spec.labels[LABELS.role]).toBe('fake-nodes');
    expect(spec.labels[LABELS.cluster]).toBe('kw-x');
    expect(Object.values(spec.env!)).toEqual(['KUBECONFIG']);
    expect(spec.cmd).toEqual(kwokArgs('10.128.0.0/10', '10.246.255.254', config.cluster.fakeNodes));
    expect(spec.cmd).toContain('--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake');
    expect(spec.cmd).toContain('--cidr=10.128.0.0/10');
    expect(spec.cmd).toContain('--node-lease-duration-seconds=40');
    expect(spec.cmd!.some((a) => a.startsWith('--manage-all-nodes'))).toBe(false);
  });

  it('builds kwok with CGO off from the module proxy with its stages in the image (a valid recipe)', () => {
    const image = kwokImage('kind: Stage\n');
    expect(recipeProblems(image.recipe)).toEqual([]);
    expect(image.recipe!.go![0]).toMatchObject({ module: 'sigs.k8s.io/kwok', version: 'v0.8.0', package: 'cmd/kwok' });
    expect(image.recipe!.files).toEqual([{ path: '/etc/kwok/stages.yaml', content: 'kind: Stage\n', mode: 0o644 }]);
    expect(image.loadIntoNodes).toBe(false);
  });

  it('writes a token kubeconfig kwok reads and reads the admin kubeconfig back', () => {
    const text = tokenKubeconfig('https://10.246.0.2:6443', 'CA PEM', 'tok', 'kwok');
    const doc = yaml.load(text) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(doc.clusters[0].cluster.server).toBe('https://10.246.0.2:6443');
    expect(apiAccessFromKubeconfig(text)).toEqual({ server: 'https://10.246.0.2:6443', ca: 'CA PEM', token: 'tok' });
  });

  it('counts a node Ready only with a Ready condition, a lease renewed since the start and no not-ready taint', () => {
    const since = Date.parse('2026-01-01T00:00:00Z');
    const node = (name: string, ready: string, taints: string[] = []) => ({ metadata: { name }, spec: { taints: taints.map((key) => ({ key })) }, status: { conditions: [{ type: 'Ready', status: ready }] } });
    const nodes = { items: [node('a', 'True'), node('b', 'True'), node('c', 'False'), node('d', 'True', ['node.kubernetes.io/not-ready'])] };
    const lease = (name: string, t: string) => ({ metadata: { name }, spec: { renewTime: t } });
    const leases = { items: [lease('a', '2026-01-01T00:00:05Z'), lease('b', '2025-12-31T23:00:00Z'), lease('c', '2026-01-01T00:00:05Z'), lease('d', '2026-01-01T00:00:05Z')] };
    expect(countReady(nodes, leases, since, true)).toBe(1);
    expect(countReady(nodes, leases, since, false)).toBe(2);
    expect(countReady(nodes, leases, since, false, new Set(['b', 'c']))).toBe(0);
  });

  it('raises the controller manager request rate only with fake nodes', () => {
    const cni = { name: 'bridge', defaultPodSubnet: '10.244.0.0/16' } as unknown as CniPlugin;
    const render = (overrides: Record<string, unknown>) => {
      const config = configSchema.parse(overrides);
      return renderClusterKubeadm(config, planNodes(config), cni);
    };
    expect(render({ cluster: { fakeNodes: 5 } })).toMatch(/kube-api-qps/);
    expect(render({})).not.toMatch(/kube-api-qps|node-monitor-grace-period/);
  });

  it('lengthens kwok leases and the node-monitor grace period with the node count (fewer lease writes a second)', () => {
    const cni = { name: 'bridge', defaultPodSubnet: '10.244.0.0/16' } as unknown as CniPlugin;
    const lease = (n: number) => kwokArgs('10.128.0.0/10', '10.0.255.254', n).find((a) => a.startsWith('--node-lease-duration-seconds='));
    expect([1, 1000, 1001, 5000].map(lease)).toEqual(['40', '40', '80', '200'].map((s) => `--node-lease-duration-seconds=${s}`));
    const render = (n: number) => {
      const config = configSchema.parse({ cluster: { fakeNodes: n } });
      return renderClusterKubeadm(config, planNodes(config), cni);
    };
    const grace = (n: number) => /node-monitor-grace-period\s*\n?\s*value:\s*(\S+)|node-monitor-grace-period[=:]\s*"?(\w+)/.exec(render(n));
    const g = (n: number) => { const m = grace(n); return m?.[1] ?? m?.[2]; };
    expect(g(10)).toBe('50s');
    expect(g(5000)).toBe('210s');
  });

  it('refuses --fake-nodes -1, abc and a count over the limit naming the flag', () => {
    for (const bad of ['-1', 'abc', '1.5', '5001']) {
      const error = thrownBy(() => loadConfig({ env: {}, flags: { 'fake-nodes': bad } })) as Error & { setting?: string };
      expect(error.setting).toBe('cluster.fakeNodes');
      expect(error.message).toMatch(/fake-nodes/);
    }
    expect(loadConfig({ env: {}, flags: { 'fake-nodes': '1000' } }).config.cluster.fakeNodes).toBe(1000);
  });

  it('runs tasks with a bounded number in flight and throws the first failure', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await inParallel([...Array(50).keys()], 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      done.push(i);
    });
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    await expect(inParallel([1, 2, 3], 2, async (i) => { if (i === 2) throw new Error('two'); })).rejects.toThrow('two');
  });
});
