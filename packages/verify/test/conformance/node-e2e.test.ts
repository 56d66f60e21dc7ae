import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeE2eBinaries } from '../../src/conformance/binaries.js';
import { conformanceImages, NODE_E2E_IDS } from '../../src/conformance/images.js';
import { parseImageManifest } from '../../src/conformance/manifest.js';
import {
  NODE_E2E_LABEL_FILTER,
  NODE_E2E_POD_CIDR,
  NODE_E2E_REGISTRY_HOSTS,
  registryHostsOf,
  NODE_E2E_SKIPS,
  leftOutTests,
  nodeE2eCniConfig,
  nodeE2eGinkgoArgs,
  nodeE2eKubeletConfig,
  nodeE2eSpec,
  nodeE2eSuiteArgs,
  runNodeE2e,
} from '../../src/conformance/node-e2e.js';
import { specProgress, testFilters, type SpecEvent } from '../../src/conformance/suite.js';
import { type Driver, goBinaryProblems, LABELS, MODE_LABEL, type NodeHandle, recipeProblems } from '@local-cluster/core';

describe('node e2e binaries', () => {
  it('builds e2e_node.test as a test binary of k8s.io/kubernetes (staging modules at the release) and the ginkgo its go.mod pins', () => {
    const goMod = 'require (\n\tgithub.com/onsi/ginkgo/v2 v2.23.4\n)\n';
    const [suite, ginkgo] = nodeE2eBinaries('v1.34.4', goMod);
    expect(suite).toMatchObject({ module: 'k8s.io/kubernetes', version: 'v1.34.4', package: 'test/e2e_node', binary: 'e2e_node.test', test: true, inTreeReplacesAt: 'v0.34.4' });
    expect(suite!.ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.34.4');
    expect(ginkgo).toMatchObject({ module: 'github.com/onsi/ginkgo/v2', version: 'v2.23.4', package: 'ginkgo', binary: 'ginkgo' });
    for (const b of [suite, ginkgo]) expect(goBinaryProblems(b)).toEqual([]);
    expect(() => nodeE2eBinaries('v1.34.4', 'module x\n')).toThrow(/pins no github.com\/onsi\/ginkgo/);
    expect(() => nodeE2eBinaries('1.34', goMod)).toThrow(/not a Kubernetes release/);
  });
});

describe('node e2e images', () => {
  const MANIFEST = `
	initRegistry = RegistryList{
		PromoterE2eRegistry:     "registry.k8s.io/e2e-test-images",
		GcRegistry:              "registry.k8s.io",
		GcEtcdRegistry:          "registry.k8s.io",
	}
	configs[Agnhost] = Config{list.PromoterE2eRegistry, "agnhost", "2.56"}
	configs[BusyBox] = Config{list.PromoterE2eRegistry, "busybox", "1.37.0-1"}
	configs[Etcd] = Config{list.GcEtcdRegistry, "etcd", "3.6.4-0"}
	configs[IpcUtils] = Config{list.PromoterE2eRegistry, "ipc-utils", "1.3"}
	configs[NonRoot] = Config{list.PromoterE2eRegistry, "nonroot", "1.4"}
	configs[Pause] = Config{list.GcRegistry, "pause", "3.10.1"}
	configs[Perl] = Config{list.PromoterE2eRegistry, "perl", "5.26"}
`;
  it('builds what the node tests run (nonroot as uid 1234, ipc-utils with util-linux), not etcd, pause (in the node image) or perl (no recipe)', () => {
    const { needed, unbuildable } = conformanceImages(parseImageManifest(MANIFEST), 'v1.34.4', [], NODE_E2E_IDS, 'node e2e');
    expect(needed.map((n) => n.image.ref)).toEqual([
      'registry.k8s.io/e2e-test-images/agnhost:2.56',
      'registry.k8s.io/e2e-test-images/busybox:1.37.0-1',
      'registry.k8s.io/e2e-test-images/ipc-utils:1.3',
      'registry.k8s.io/e2e-test-images/nonroot:1.4',
    ]);
    expect(unbuildable.map((i) => i.id)).toEqual(['Etcd', 'Pause', 'Perl']);
    for (const n of needed) {
      expect(recipeProblems(n.image.recipe)).toEqual([]);
      expect(n.neededBy).toBe('node e2e');
    }
    expect(needed[2]!.image.recipe).toMatchObject({ debianPackages: ['util-linux'], shell: true });
    // Debian's busybox has no nmeter; the container-lifecycle tests stamp their log lines with it
    const nmeter = needed[1]!.image.recipe!.files!.find((f) => f.path === '/usr/bin/nmeter')!;
    expect(nmeter.mode).toBe(0o755);
    const script = join(mkdtempSync(join(tmpdir(), 'lc-verify-')), 'nmeter');
    writeFileSync(script, nmeter.content!);
    const stamp = execFileSync('bash', ['-c', `bash ${script} -d0 '%3t' | head -n1`], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 10_000 }).trim();
    expect(stamp).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    expect(needed[3]!.image.recipe).toMatchObject({ user: '1234', shell: true });
  });
});

describe('node e2e run arguments', () => {
  it('selects [NodeConformance] without Serial, Flaky and Slow by default', () => {
    expect(NODE_E2E_LABEL_FILTER).toBe('NodeConformance && !Serial && !Flaky && !Slow');
    expect(testFilters({}, NODE_E2E_LABEL_FILTER).flags).toEqual(['--label-filter=NodeConformance && !Serial && !Flaky && !Slow']);
  });

  it('turns a focus substring into a literal regex and merges the user skip with the default skips', () => {
    const f = testFilters({ focus: 'Pods [x]', skip: 'a.b' }, 'NodeConformance', ['pull image', 'registry']);
    expect(f.flags).toEqual(['--label-filter=NodeConformance', '--focus=Pods \\[x\\]', '--skip=(?:a\\.b)|(?:pull image)|(?:registry)']);
    expect(f).toMatchObject({ focusGiven: 'Pods [x]', skipGiven: 'a.b' });
    // the regex forms win over the substrings
    expect(testFilters({ focus: 'x', focusRegex: 'y|z' }, 'L').flags).toEqual(['--label-filter=L', '--focus=y|z']);
    expect(testFilters({}, 'L', ['only']).flags).toEqual(['--label-filter=L', '--skip=only']);
  });

  it('runs ginkgo on the suite in the container, in kubelet mode against its containerd, with JSON and JUnit reports', () => {
    const argv = nodeE2eGinkgoArgs(testFilters({ focus: 'Pods' }, NODE_E2E_LABEL_FILTER), 3, 90);
    const dash = argv.indexOf('--');
    expect(argv.slice(0, dash)).toEqual([
      'run',
      '--no-color',
      '-v',
      '--procs=3',
      '--label-filter=NodeConformance && !Serial && !Flaky && !Slow',
      '--focus=Pods',
      '--timeout=90m',
      '--output-dir=/e2e-node/report',
      '--json-report=report.json',
      '--junit-report=junit.xml',
      '--silence-skips',
      '/e2e-node/e2e_node.test',
    ]);
    expect(argv.slice(dash + 1)).toEqual(nodeE2eSuiteArgs());
    const suite = nodeE2eSuiteArgs();
    expect(suite).toContain('--k8s-bin-dir=/usr/bin');
    expect(suite).toContain('--container-runtime-endpoint=unix:///run/containerd/containerd.sock');
    // nothing can be pulled: pre-pulling would fail the suite before any test
    expect(suite).toContain('--prepull-images=false');
    expect(suite).toContain('--kubelet-config-file=/e2e-node/kubelet-config.yaml');
    expect(suite).toContain('--report-dir=/e2e-node/report');
    // never --remote: the suite starts its own API server and kubelet
    expect(suite.some((a) => a.startsWith('--remote'))).toBe(false);
  });

  it("configures the kubelet for the node image: systemd cgroups, swap allowed, no disk evictions; cgroup v1 allowed from 1.35", () => {
    const v134 = nodeE2eKubeletConfig('v1.34.4');
    expect(v134).toContain('kind: KubeletConfiguration');
    expect(v134).toContain('cgroupDriver: systemd');
    expect(v134).toContain('failSwapOn: false');
    expect(v134).toContain(`podCIDR: "${NODE_E2E_POD_CIDR}"`);
    expect(v134).toContain('nodefs.available: "0%"');
    expect(v134).not.toContain('failCgroupV1');
    expect(nodeE2eKubeletConfig('v1.35.4')).toContain('failCgroupV1: false');
  });

  it("gives pods a bridge network on the kubelet's pod range", () => {
    const cni = JSON.parse(nodeE2eCniConfig()) as { plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[] };
    expect(cni.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(cni.plugins[0]!.ipam!.ranges[0]![0]!.subnet).toBe(NODE_E2E_POD_CIDR);
  });

  it("runs in a node container of the cluster's image labelled node-e2e (so clean removes it), as a worker", () => {
    const spec = nodeE2eSpec('ne-x', 'local-cluster/node:v1.34.4-abc', '0a1b2c');
    expect(spec).toMatchObject({ name: 'local-cluster-ne-x-node-e2e-0a1b2c', hostname: 'node-e2e', image: 'local-cluster/node:v1.34.4-abc', privileged: true });
    expect(spec.labels).toMatchObject({ [LABELS.cluster]: 'ne-x', [LABELS.role]: 'node-e2e', [LABELS.managed]: 'true' });
    expect(spec.env).toEqual({ LOCAL_CLUSTER_NODE_ROLE: 'worker' });
    expect(spec.network).toBeUndefined();
  });

  it('leaves out the tests whose pulls must succeed, not those that expect a pull to fail', () => {
    const match = (name: string) => NODE_E2E_SKIPS.some((s) => new RegExp(s.pattern).test(name));
    const prefix = '[sig-node] Container Runtime blackbox test when running a container with a new image';
    expect(match(`${prefix} should be able to pull image [NodeConformance]`)).toBe(true);
    expect(match(`${prefix} should not be able to pull image from invalid registry [NodeConformance]`)).toBe(false);
    expect(match(`${prefix} should not be able to pull from private registry without secret [NodeConformance]`)).toBe(false);
    const lifecycle = '[sig-node] [NodeConformance] Containers Lifecycle when A pod is running only regular containers when the regular container has its image updated';
    expect(match(`${lifecycle} should successfully restart when the image is updated, restartPolicy=Always`)).toBe(true);
    expect(match(`${lifecycle} during initialization Should not start a regular container, restartPolicy=Never`)).toBe(false);
    expect(match('[sig-node] [NodeConformance] Containers Lifecycle when ... when an init container fails to start because of a bad image should not start an init container')).toBe(false);
    for (const s of NODE_E2E_SKIPS) expect(s.why).not.toBe('');
  });

  it('leaves out a test that needs a kernel feature only where the probe in the container fails', () => {
    const privileged = '[sig-node] PrivilegedPod [NodeConformance] should enable privileged commands [LinuxOnly]';
    const names = [privileged, '[sig-node] Pods should get a host IP [NodeConformance] [Conformance]'];
    const rule = NODE_E2E_SKIPS.find((r) => r.unless)!;
    expect(rule.unless!.join(' ')).toContain('type dummy');
    const probed = NODE_E2E_SKIPS.filter((r) => r.unless);
    expect(probed).toHaveLength(3);
    const match = (name: string) => probed.filter((r) => new RegExp(r.pattern).test(name)).length;
    expect(match('[sig-node] ContainerMetrics [LinuxOnly] [NodeConformance] when querying /metrics/cadvisor should report container metrics')).toBe(1);
    expect(match('[sig-node] Summary API [NodeConformance] when querying /stats/summary should report resource usage through the stats api')).toBe(1);
    expect(match(privileged)).toBe(1);
    expect(leftOutTests(names, NODE_E2E_SKIPS)).toEqual([]);
    expect(leftOutTests(names, NODE_E2E_SKIPS, new Set([rule]))).toEqual([{ name: privileged, why: rule.why }]);
    expect(leftOutTests(names, [])).toEqual([]);
  });
});

describe('pulls stay on the machine', () => {
  it("sends every registry of the suite's images, and the public ones, to a closed local port (a mirror: containerd 1.6 ignores a lone server line)", () => {
    const hosts = registryHostsOf(['registry.k8s.io/pause:3.10.1', 'invalid.registry.k8s.io/invalid/alpine:3.1', 'gcr.io/authenticated-image-pulling/alpine:3.7', 'busybox:1', 'library/x:2', 'localhost:5000/y:1']);
    expect(hosts).toEqual(['_default', 'docker.io', 'gcr.io', 'ghcr.io', 'invalid.registry.k8s.io', 'k8s.gcr.io', 'localhost:5000', 'quay.io', 'registry-1.docker.io', 'registry.k8s.io']);
    expect(NODE_E2E_REGISTRY_HOSTS).toContain('server = "http://127.0.0.1:9"');
    expect(NODE_E2E_REGISTRY_HOSTS).toContain('[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]');
  });
});

describe('progress from ginkgo output', () => {
  it('reports each selected test as it finishes, parallel style', () => {
    const events: SpecEvent[] = [];
    const names = ['[sig-node] Pods should get a host IP [NodeConformance]', '[sig-node] Downward API should give pod name [NodeConformance]'];
    const feed = specProgress(names, 2, (e) => events.push(e));
    for (const line of ['• [1.234 seconds]', `${names[0]} [sig-node, NodeConformance]`, 'noise', '• [FAILED] [5.000 seconds]', '[sig-node] Downward API [It] should give pod name [NodeConformance] [sig-node, NodeConformance]']) feed(line);
    expect(events).toEqual([
      { done: 1, total: 2, name: names[0], state: 'passed', seconds: 1.234 },
      { done: 2, total: 2, name: names[1], state: 'failed', seconds: 5 },
    ]);
  });
});

function fakeNode(labels: Record<string, string>): NodeHandle {
  return {
    id: 'id',
    name: 'local-cluster-ne-x-kube-master',
    hostname: 'kube-master',
    cluster: 'ne-x',
    role: 'control-plane',
    labels,
    image: 'some/image:1',
    state: async () => 'running',
  } as unknown as NodeHandle;
}

function fakeDriver(nodes: NodeHandle[]): Driver {
  return { listNodes: async () => nodes } as unknown as Driver;
}

describe('runNodeE2e refusals', () => {
  const base = { cluster: 'ne-x', logger: { info() {}, debug() {}, warn() {} }, signal: new AbortController().signal };

  it('names `up` when the cluster is not up', async () => {
    const error = (await runNodeE2e({ ...base, driver: fakeDriver([]) }).then(() => expect.unreachable('it resolved'), (e: unknown) => e)) as Error & { hint?: string };
    expect(error.message).toBe('Cluster "ne-x" is not up.');
    expect(error.hint).toContain('local-cluster up --name ne-x');
  });

  it('refuses a services-mode cluster (no kubelet, no runtime) and says what to bring up instead', async () => {
    const error = (await runNodeE2e({ ...base, driver: fakeDriver([fakeNode({ [MODE_LABEL]: 'services' })]) }).then(() => expect.unreachable('it resolved'), (e: unknown) => e)) as Error & { hint?: string };
    expect(error.message).toContain('runs in services mode');
    expect(error.hint).toContain('without --mode services');
  });
});
