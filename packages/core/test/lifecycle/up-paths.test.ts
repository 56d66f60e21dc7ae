import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADDON_API_VERSION, CNI_API_VERSION, down, isStepError, LABELS, loadConfig, planNodes, runSteps, up, UP_STEPS, type Addon, type CniPlugin, type ProgressEvent } from '../../src/index.js';
import { fakeDriver, type FakeContainer, type FakeDriver } from '../../src/testing/index.js';
import { newUpContext } from '../../src/lifecycle/context.js';

// The five paths of `up` (a new cluster, a restore from the snapshot, a resume of stopped
// containers, a cluster already up, and a failure rolled back) against the fake Driver: what each
// makes, starts, runs and removes, in milliseconds. The real-engine tests (tests/clusters) check the same
// paths on real clusters.

const ADMIN_CONF = `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster: {certificate-authority-data: Q0E=, server: 'https://kube-master:6443'}
users:
- name: kubernetes-admin
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
contexts:
- name: kubernetes-admin@kubernetes
  context: {cluster: kubernetes, user: kubernetes-admin}
current-context: kubernetes-admin@kubernetes
`;

const cni: CniPlugin = { apiVersion: CNI_API_VERSION, kind: 'cni', name: 'fake-cni', defaultPodSubnet: '10.244.0.0/16' };
const nodeImage = { ref: 'local-cluster/node:fake', build: async () => { throw new Error('the fake node image is in the engine already'); } };

interface FakePod {
  name: string;
  namespace: string;
  node: string;
  labels?: Record<string, string>;
  /** When its Ready condition last turned True. */
  readyAt: () => string;
}

/**
 * A cluster's answers as its nodes give them: systemd up, the kubeconfig, the API through kubectl
 * (the fake engine is remote, so `up` reads the API that way): every running node Ready now, the
 * control plane and CoreDNS Ready now, and the pods in `pods`.
 */
function clusterAnswers(nodesOf: (node: FakeContainer) => string[], pods: FakePod[] = [], failOn?: (argv: readonly string[]) => boolean) {
  return (node: FakeContainer, argv: readonly string[]) => {
    if (failOn?.(argv)) return { stdout: '', stderr: 'it failed on purpose', exitCode: 1 };
    const now = new Date().toISOString();
    const command = argv.join(' ');
    if (argv[0] === 'sh' && command.includes('systemctl is-system-running')) return 'running active images';
    if (command === 'cat /etc/kubernetes/admin.conf') return ADMIN_CONF;
    if (argv[0] !== 'kubectl') return undefined;
    const raw = argv.indexOf('--raw') >= 0 ? argv[argv.indexOf('--raw') + 1]! : '';
    const ready = (at: string) => [{ type: 'Ready', status: 'True', lastTransitionTime: at, lastHeartbeatTime: at }];
    const pod = (p: FakePod) => ({ metadata: { name: p.name, namespace: p.namespace, labels: p.labels ?? {} }, spec: { nodeName: p.node }, status: { phase: 'Running', conditions: ready(p.readyAt()) } });
    const system: FakePod[] = [
      ...['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => ({ name: `${c}-kube-master`, namespace: 'kube-system', node: 'kube-master', labels: { tier: 'control-plane', component: c }, readyAt: () => now })),
      { name: 'coredns-1', namespace: 'kube-system', node: 'kube-master', labels: { 'k8s-app': 'kube-dns' }, readyAt: () => now },
    ];
    if (raw === '/readyz') return 'ok';
    if (raw.startsWith('/api/v1/nodes')) return JSON.stringify({ items: nodesOf(node).map((n) => ({ metadata: { name: n }, spec: {}, status: { conditions: ready(now) } })) });
    if (raw === '/api/v1/namespaces/kube-system/pods') return JSON.stringify({ items: system.map(pod) });
    if (raw === '/api/v1/pods') return JSON.stringify({ items: [...system, ...pods].map(pod) });
    if (raw.startsWith('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')) return JSON.stringify({ items: nodesOf(node).map((n) => ({ metadata: { name: n }, spec: { renewTime: now } })) });
    if (raw === '/apis/certificates.k8s.io/v1/certificatesigningrequests') return JSON.stringify({ items: [] });
    return '';
  };
}

function fakeCluster(pods: FakePod[] = [], failOn?: (argv: readonly string[]) => boolean): FakeDriver {
  // the hostnames of the cluster's running nodes, as the fake engine holds them
  const nodesOf = (node: FakeContainer) =>
    [...driver.containers.values()].filter((c) => c.state === 'running' && c.spec.labels[LABELS.cluster] === node.spec.labels[LABELS.cluster] && c.spec.labels[LABELS.role] === 'node').map((c) => c.spec.hostname);
  const driver = fakeDriver({ location: { endpoint: 'tcp://engine.test:2376', remote: true, address: '192.0.2.10' }, onExec: clusterAnswers(nodesOf, pods, failOn) });
  driver.addImage(nodeImage.ref, {});
  return driver;
}

function options(driver: FakeDriver, home: string, events: ProgressEvent[] = []) {
  const { config } = loadConfig({ overrides: { cluster: { name: 'paths', numNodes: 2, addons: [] }, dind: { subnet: '10.231.0.0/16' } }, env: {} });
  return { config, driver, cni, nodeImage, home, userKubeconfig: false as const, onEvent: (e: ProgressEvent) => events.push(e) };
}

const steps = (events: ProgressEvent[]) => events.filter((e) => e.type === 'step-end').map((e) => e.step);

describe('the paths of up, against the fake Driver', () => {
  it('a new cluster: network, nodes and volumes made, kubeadm init and joins run, kubeconfig written, every node committed as its snapshot', async () => {
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    const events: ProgressEvent[] = [];
    const cluster = await up(options(driver, home, events));
    expect(cluster.restored).toBe(false);
    expect(cluster.alreadyUp).toBe(false);
    expect([...driver.containers.values()].map((c) => c.spec.hostname).sort()).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    expect([...driver.networks.keys()]).toEqual(['local-cluster-paths']);
    expect(driver.volumeStore.size).toBe(3);
    expect(driver.calls.filter((c) => c.startsWith('exec kube-master /usr/bin/kubeadm init'))).toHaveLength(1);
    expect(driver.calls.filter((c) => /^exec kube-node-\d \/usr\/bin\/kubeadm join/.test(c))).toHaveLength(2);
    expect(steps(events)).toEqual(expect.arrayContaining(['network', 'create-nodes', 'boot', 'kubeadm-init', 'join-workers', 'cni', 'wait-ready', 'kubeconfig', 'snapshot']));
    expect(steps(events)).not.toContain('wait-workloads');
    expect([...driver.imageStore.keys()].filter((r) => r.startsWith('local-cluster-snapshot/')).sort()).toEqual(['local-cluster-snapshot/paths:kube-master', 'local-cluster-snapshot/paths:kube-node-1', 'local-cluster-snapshot/paths:kube-node-2']);
    expect(existsSync(cluster.kubeconfigPath)).toBe(true);
  });

  it('after `down`, a restore: the nodes come back from their snapshots and volumes, no kubeadm, and `up` returns once the pods that ran are Ready again', async () => {
    let polls = 0;
    // the writer pod: its status from before `down` for two polls, then Ready again in this run
    const writer: FakePod = { name: 'writer', namespace: 'default', node: 'kube-node-1', readyAt: () => (++polls < 3 ? '2020-01-01T00:00:00Z' : new Date().toISOString()) };
    const driver = fakeCluster([writer]);
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    await up(options(driver, home));
    await down({ driver, cluster: 'paths' });
    expect(driver.containers.size).toBe(0);
    expect(driver.volumeStore.size).toBe(3);
    driver.calls.length = 0;
    const events: ProgressEvent[] = [];
    const cluster = await up(options(driver, home, events));
    expect(cluster.restored).toBe(true);
    expect(driver.calls.filter((c) => c.startsWith('createNode')).sort()).toEqual(['createNode kube-master', 'createNode kube-node-1', 'createNode kube-node-2']);
    expect([...driver.containers.values()].map((c) => c.spec.image).sort()).toEqual(['local-cluster-snapshot/paths:kube-master', 'local-cluster-snapshot/paths:kube-node-1', 'local-cluster-snapshot/paths:kube-node-2']);
    expect(driver.calls.some((c) => c.includes('kubeadm'))).toBe(false);
    expect(steps(events)).toContain('wait-workloads');
    expect(steps(events)).not.toContain('snapshot');
    expect(polls).toBe(3);
    expect(events.filter((e) => e.type === 'log' && e.level === 'warn')).toEqual([]);
  });

  it('a stopped node container is started and waited for; nothing is made', async () => {
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    await up(options(driver, home));
    [...driver.containers.values()].find((c) => c.spec.hostname === 'kube-node-2')!.state = 'exited';
    driver.calls.length = 0;
    const events: ProgressEvent[] = [];
    const cluster = await up(options(driver, home, events));
    expect(cluster.describe()).toContain('its stopped node containers started');
    expect(driver.calls.filter((c) => /^(start|createNode|createNetwork|createVolume)/.test(c))).toEqual(['start kube-node-2']);
    expect(steps(events)).toEqual(['start-nodes', 'wait-ready', 'kubeconfig']);
  });

  it('a cluster that is up already from the same config: nothing is started, made or run but the API check', async () => {
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    await up(options(driver, home));
    driver.calls.length = 0;
    const cluster = await up(options(driver, home));
    expect(cluster.alreadyUp).toBe(true);
    expect(driver.calls).toEqual(['exec kube-master kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw /readyz']);
  });

  it('an addon that keeps something on the engine: preflight before anything is made, attach at every up (restore and up-already too), with the network and its kept address', async () => {
    const seen: string[] = [];
    const beside: Addon = {
      apiVersion: ADDON_API_VERSION,
      kind: 'addon',
      name: 'beside',
      preflight: async () => void seen.push('preflight'),
      attach: async (ctx) => void seen.push(`attach ${ctx.network} ${ctx.address}`),
      install: async () => void seen.push('install'),
    };
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    const withAddon = () => ({ ...options(driver, home), addons: [beside] });
    await up(withAddon());
    expect(seen).toEqual(['preflight', 'attach local-cluster-paths 10.231.255.206', 'install']);
    await down({ driver, cluster: 'paths' });
    seen.length = 0;
    expect((await up(withAddon())).restored).toBe(true);
    expect(seen).toEqual(['preflight', 'attach local-cluster-paths 10.231.255.206']);
    seen.length = 0;
    expect((await up(withAddon())).alreadyUp).toBe(true);
    expect(seen).toEqual(['attach local-cluster-paths 10.231.255.206']);

    const refusing: Addon = { ...beside, name: 'refusing', preflight: async () => { throw new Error('port taken'); } };
    const other = fakeCluster();
    const error = await up({ ...options(other, mkdtempSync(join(tmpdir(), 'lc-paths-'))), addons: [refusing] }).then(() => expect.unreachable('up succeeded'), (e: unknown) => e);
    expect(isStepError(error) && error.step).toBe('preflight');
    expect([other.containers.size, other.networks.size, other.volumeStore.size]).toEqual([0, 0, 0]);
  });

  it("addons installed after kubeadm init run while the workers join; the others, and one that depends on another, after the CNI", async () => {
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    // how many workers had run `kubeadm join` when each install started
    const joinsAt: Record<string, number> = {};
    const addon = (name: string, more: Partial<Addon> = {}): Addon => ({
      apiVersion: ADDON_API_VERSION,
      kind: 'addon',
      name,
      install: async () => void (joinsAt[name] = driver.calls.filter((c) => / \/usr\/bin\/kubeadm join/.test(c)).length),
      ...more,
    });
    const events: ProgressEvent[] = [];
    await up({
      ...options(driver, home, events),
      addons: [addon('early', { installAfter: 'kubeadm-init' }), addon('late'), addon('after-late', { installAfter: 'kubeadm-init', dependsOn: ['late'] })],
    });
    expect(joinsAt).toEqual({ early: 0, late: 2, 'after-late': 2 });
    expect(steps(events).indexOf('start-addons')).toBeLessThan(steps(events).indexOf('join-workers'));
  });

  it('a step that fails: the error names it, and the network, nodes and volumes this run made are removed', async () => {
    const driver = fakeCluster([], (argv) => argv.includes('init'));
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    const error = await up(options(driver, home)).then(() => expect.unreachable('up succeeded'), (e: unknown) => e);
    expect(isStepError(error) && error.step).toBe('kubeadm-init');
    expect(driver.calls).toContain('createNetwork local-cluster-paths');
    expect([driver.containers.size, driver.networks.size, driver.volumeStore.size]).toEqual([0, 0, 0]);
    expect([...driver.imageStore.keys()]).toEqual([nodeImage.ref]);
  });

  it('the node plan is made once, with the context, and the steps build the nodes it names (not what the config would plan again)', async () => {
    const driver = fakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'lc-paths-'));
    const given = options(driver, home);
    const ctx = newUpContext(given, 'abcdef.0123456789abcdef', '0'.repeat(64));
    expect(ctx.plan).toEqual(planNodes(given.config));
    expect(ctx.plan.nodes.map((n) => n.hostname)).toEqual(['kube-master', 'kube-node-1', 'kube-node-2']);
    // carried instead: one worker, in a labelled group, on the same subnet; a step that planned
    // the nodes from the config again would make, join or label kube-node-2
    const { config: other } = loadConfig({ overrides: { cluster: { name: 'paths', workers: [{ count: 1, labels: { pool: 'carried' } }], addons: [] }, dind: { subnet: '10.231.0.0/16' } }, env: {} });
    ctx.plan = planNodes(other);
    await runSteps(UP_STEPS, ctx);
    expect([...driver.containers.values()].map((c) => `${c.spec.hostname} ${c.spec.ip}`).sort()).toEqual(['kube-master 10.231.0.2', 'kube-node-1 10.231.0.3']);
    expect(driver.volumeStore.size).toBe(2);
    expect(driver.calls.filter((c) => /kubeadm join/.test(c))).toEqual([expect.stringMatching(/^exec kube-node-1 /)]);
    expect(driver.calls.filter((c) => c.includes(' label node '))).toEqual([expect.stringContaining('label node kube-node-1 node-role.kubernetes.io/worker= pool=carried')]);
    expect([...driver.imageStore.keys()].filter((r) => r.startsWith('local-cluster-snapshot/')).sort()).toEqual(['local-cluster-snapshot/paths:kube-master', 'local-cluster-snapshot/paths:kube-node-1']);
  });
});
