import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterContainers, DEFAULT_KUBERNETES_VERSION, loadConfig, up, type Cluster, type ConfigInput, type ProgressEvent } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { bridge } from '@local-cluster/cni-bridge';
import { nodeImage } from '@local-cluster/images';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'packages/cli/dist/bin.js');

/** A HOME of its own, so the user's kubeconfig and ~/.local-cluster are never touched. */
export const testHome = mkdtempSync(join(tmpdir(), 'lc-test-home-'));
/** The tool's home: image caches are shared between runs to keep warm CI warm. */
export const toolHome = process.env.LOCAL_CLUSTER_HOME ?? join(process.env.HOME ?? '/root', '.local-cluster');

export const driver = dockerDriver();

/** Every Docker object still labelled as this cluster's. */
export async function leftovers(cluster: string): Promise<string[]> {
  return [
    // nodes, the load balancer, hollow-node and kwok containers
    ...(await clusterContainers(driver, cluster)).map((n) => `container ${n.name}`),
    ...(await driver.listNetworks({ cluster })).map((n) => `network ${n.name}`),
    ...(await driver.volumes.list({ cluster })).map((v) => `volume ${v.name}`),
    ...(await driver.images.list({ cluster })).map((i) => `image ${i.tags.join(',') || i.id}`),
  ];
}

/** Brings a cluster up through the library (bridge CNI, no addons), printing step progress. */
export async function bringUp(overrides: ConfigInput, events: ProgressEvent[] = []): Promise<Cluster> {
  // the library installs the addon plugins it is handed: none here, and the config says so
  const { config } = loadConfig({ overrides: { ...overrides, cluster: { addons: [], ...overrides.cluster } }, env: {} });
  return up({
    config,
    driver,
    cni: bridge(),
    nodeImage: nodeImage(config),
    home: toolHome,
    userKubeconfig: join(testHome, '.kube', 'config'),
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'step-end') console.log(`[${overrides.cluster?.name}] ${e.title}: ${e.ok ? 'ok' : 'FAILED'} ${(e.durationMs / 1000).toFixed(1)}s`);
      if (e.type === 'log' && e.level !== 'debug') console.log(`[${overrides.cluster?.name}]   ${e.message}`);
    },
  });
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The machine's Go caches (the test HOME is empty; Go builds share the machine's caches as a user's would). */
const goCaches: Record<string, string> = (() => {
  try {
    const [modcache, cache] = execFileSync(existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go', ['env', 'GOMODCACHE', 'GOCACHE'], { encoding: 'utf8' }).trim().split('\n');
    const found: Record<string, string> = modcache && cache ? { GOMODCACHE: modcache, GOCACHE: cache } : {};
    return found;
  } catch {
    return {};
  }
})();

/** Runs a program on the host (in cwd, default the current directory). */
export function run(file: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...goCaches, HOME: testHome, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000, ...(cwd ? { cwd } : {}) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the built CLI like a user. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [CLI, ...args], { LOCAL_CLUSTER_HOME: toolHome, ...env });
}

/** The kubectl built with the node image, run on the host. */
export function hostKubectl(version: string): string {
  return join(toolHome, 'cache', 'node-image', 'binaries', version, 'bin', 'kubectl');
}

/** kubectl on the host with a cluster's exported admin kubeconfig. */
export function kubectlFor(cluster: string): (...args: string[]) => Promise<Run> {
  const kubeconfig = join(toolHome, 'clusters', cluster, 'admin.conf');
  return (...args) => run(hostKubectl(DEFAULT_KUBERNETES_VERSION), ['--kubeconfig', kubeconfig, ...args]);
}

/** The names of the Ready nodes in `kubectl get nodes -o json` output, sorted. */
export function readyNodes(json: string): string[] {
  const list = JSON.parse(json) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
  return list.items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name).sort();
}

/** A Deployment of pause pods placed on hollow nodes only (their label and taint), as JSON. */
export function hollowDeployment(replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'on-hollow', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'on-hollow' } },
      template: {
        metadata: { labels: { app: 'on-hollow' } },
        spec: {
          nodeSelector: { 'local-cluster.dev/hollow-node': 'true' },
          tolerations: [{ key: 'local-cluster.dev/hollow-node', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
        },
      },
    },
  });
}

/** The hollowDeployment's pods: how many Running, on which nodes, how many in all. */
export async function hollowDeploymentPods(kubectl: (...args: string[]) => Promise<Run>): Promise<{ running: number; nodes: Set<string>; total: number }> {
  const r = await kubectl('get', 'pods', '-l', 'app=on-hollow', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}');
  const rows = r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' '));
  return { running: rows.filter(([, phase]) => phase === 'Running').length, nodes: new Set(rows.map(([node]) => node!)), total: rows.length };
}
