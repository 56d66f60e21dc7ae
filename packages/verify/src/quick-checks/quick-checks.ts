import { describePolicyFailures, runPolicyChecks } from './policy-checks.js';
import { deployNetworkProbe, describeFailures, podNetworkTables, removeNetworkProbe } from './pod-network.js';
import { CHECKS_CONFIGMAP, type CallOptions, controlPlaneOf, type Driver, isServicesNode, kubectlOn, type Kubectl, type KubeObjectList, LABELS, readyCondition } from '@local-cluster/core';

export interface QuickChecksOptions extends CallOptions {
  driver: Driver;
  cluster: string;
  focus?: string;
  /** An image on every node with busybox httpd/wget (see @local-cluster/images TOOLBOX_IMAGE). */
  probeImage: string;
}

export interface QuickCheckResult {
  name: string;
  ok: boolean;
  durationMs: number;
  error?: string;
  /** Why the check did not apply to this cluster (counted apart, neither passed nor failed). */
  skipped?: string;
}

export interface QuickChecksReport {
  cluster: string;
  results: QuickCheckResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/** A quick check run against a live cluster through kubectl on the control plane. */
export interface QuickCheck {
  name: string;
  /** Resolves, or with `{ skipped }` when the check does not apply to this cluster. */
  run(kubectl: Kubectl, env: QuickCheckEnv): Promise<void | { skipped: string }>;
}

/** What a check knows about the cluster under test. */
export interface QuickCheckEnv {
  probeImage: string;
  /** The cluster's CNI plugin and whether it enforces NetworkPolicy (from the node labels). */
  cni: string | undefined;
  networkPolicy: boolean;
  /** Services mode: an API server and controllers, no nodes. */
  services: boolean;
  signal?: AbortSignal;
}

const NO_NODES = 'services mode has no nodes';

/** A name no earlier run left behind: local-cluster-check-1a2b3c. */
function checkName(): string {
  return `local-cluster-check-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls a kubectl call until it succeeds (objects a controller makes), or fails with the last error. */
async function eventually(what: string, fn: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s (${(e as Error).message.split('\n')[0]})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const QUICK_CHECKS: QuickCheck[] = [
  {
    name: 'nodes are Ready',
    async run(kubectl, env) {
      if (env.services) return { skipped: NO_NODES };
      const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as KubeObjectList;
      const notReady = list.items.filter((n) => readyCondition(n) === undefined);
      if (list.items.length === 0 || notReady.length) throw new Error(`not Ready: ${notReady.map((n) => n.metadata.name).join(', ') || 'no nodes'}`);
    },
  },
  {
    name: 'CoreDNS is available',
    async run(kubectl, env) {
      if (env.services) return { skipped: `${NO_NODES} to run CoreDNS on` };
      await kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=60s']);
    },
  },
  {
    name: 'the API server answers /readyz',
    async run(kubectl) {
      const out = await kubectl(['get', '--raw', '/readyz']);
      if (out.trim() !== 'ok') throw new Error(`readyz said ${out.trim()}`);
    },
  },
  {
    name: 'namespaces: a new one gets its default ServiceAccount and kube-root-ca.crt, and deleting it removes what it holds',
    async run(kubectl) {
      const ns = checkName();
      await kubectl(['create', 'namespace', ns]);
      try {
        await eventually(`ServiceAccount default in ${ns}`, () => kubectl(['-n', ns, 'get', 'serviceaccount', 'default', '-o', 'name']));
        await eventually(`ConfigMap kube-root-ca.crt in ${ns}`, () => kubectl(['-n', ns, 'get', 'configmap', 'kube-root-ca.crt', '-o', 'name']));
        await kubectl(['-n', ns, 'create', 'configmap', 'payload', '--from-literal=a=b']);
      } finally {
        await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=90s']);
      }
      const left = await kubectl(['get', 'namespace', ns, '--ignore-not-found', '-o', 'name']);
      if (left.trim()) throw new Error(`namespace ${ns} still exists after its deletion finished`);
    },
  },
  {
    name: 'CustomResourceDefinitions: a new one is served, and its objects are stored, listed and deleted',
    async run(kubectl) {
      const plural = checkName().replace(/-/g, '');
      const group = 'checks.local-cluster.dev';
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: plural, kind: 'Widget', listKind: 'WidgetList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
        },
      };
      await kubectl(['apply', '-f', '-'], JSON.stringify(crd));
      try {
        await kubectl(['wait', '--for=condition=Established', `crd/${plural}.${group}`, '--timeout=60s']);
        const widget = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: 'default' }, spec: { size: 3 } };
        await eventually(`a Widget stored through ${plural}.${group}`, () => kubectl(['apply', '-f', '-'], JSON.stringify(widget)));
        const listed = JSON.parse(await kubectl(['-n', 'default', 'get', `${plural}.${group}`, '-o', 'json'])) as { items: { metadata: { name: string }; spec?: { size?: number } }[] };
        if (listed.items.length !== 1 || listed.items[0]!.spec?.size !== 3) throw new Error(`listed ${JSON.stringify(listed.items)}, expected the one Widget w1 of size 3`);
        await kubectl(['-n', 'default', 'delete', `${plural}.${group}`, 'w1', '--wait=true']);
      } finally {
        await kubectl(['delete', 'crd', `${plural}.${group}`, '--ignore-not-found', '--wait=true']);
      }
    },
  },
  {
    name: 'pods on every node reach each other over TCP; a ClusterIP Service answers by IP and DNS name, and a NodePort on every node, from every node; a Service port it lacks and an unused pod address answer nothing (traffic stays on the nodes)',
    async run(kubectl, env) {
      if (env.services) return { skipped: `${NO_NODES} and no pod network` };
      const probe = await deployNetworkProbe(kubectl, { image: env.probeImage, ...(env.signal ? { signal: env.signal } : {}) });
      try {
        const cells = await podNetworkTables(kubectl, probe);
        const failures = describeFailures(cells);
        if (failures) throw new Error(failures);
      } finally {
        await removeNetworkProbe(kubectl, probe);
      }
    },
  },
  {
    name: 'NetworkPolicy: default-deny ingress, allow by pod label and by namespace, egress deny, and removal are enforced',
    async run(kubectl, env) {
      if (env.services) return { skipped: `${NO_NODES} and no pod network` };
      if (!env.networkPolicy) return { skipped: `CNI plugin "${env.cni ?? 'unknown'}" does not enforce NetworkPolicy` };
      const failures = describePolicyFailures(await runPolicyChecks(kubectl, { image: env.probeImage, ...(env.signal ? { signal: env.signal } : {}) }));
      if (failures) throw new Error(failures);
    },
  },
];

/** Runs the quick checks (`local-cluster check`) against a running cluster, all at once. */
export async function runQuickChecks(options: QuickChecksOptions): Promise<QuickChecksReport> {
  const nodes = await options.driver.listNodes({ cluster: options.cluster, role: 'node' }, options);
  if (nodes.length === 0) throw new Error(`cluster "${options.cluster}" has no running nodes: run \`local-cluster up\` first`);
  const controlPlane = controlPlaneOf(nodes);
  const kubectl = (args: readonly string[], stdin?: string) =>
    kubectlOn(controlPlane, args, { ...(stdin !== undefined ? { stdin } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const checks = QUICK_CHECKS.filter((c) => !options.focus || c.name.includes(options.focus));
  const env: QuickCheckEnv = {
    probeImage: options.probeImage,
    cni: controlPlane.labels[LABELS.cni],
    networkPolicy: controlPlane.labels[LABELS.networkPolicy] === 'true',
    services: isServicesNode(controlPlane.labels),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const runOne = async (check: QuickCheck): Promise<QuickCheckResult> => {
    const started = performance.now();
    try {
      const outcome = await check.run(kubectl, env);
      if (outcome && 'skipped' in outcome) return { name: check.name, ok: true, durationMs: performance.now() - started, skipped: outcome.skipped };
      return { name: check.name, ok: true, durationMs: performance.now() - started };
    } catch (e) {
      return { name: check.name, ok: false, durationMs: performance.now() - started, error: (e as Error).message };
    }
  };
  const results = await Promise.all(checks.map(runOne));
  // the latest results, for the dashboard's local-cluster view (best effort: a report is no worse without it)
  const record = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CHECKS_CONFIGMAP, namespace: 'kube-system' }, data: { ranAt: new Date().toISOString(), 'results.json': JSON.stringify(results) } };
  await kubectl(['apply', '-f', '-'], JSON.stringify(record)).catch(() => undefined);
  return {
    cluster: options.cluster,
    results,
    passed: results.filter((r) => r.ok && !r.skipped).length,
    failed: results.filter((r) => !r.ok).length,
    skipped: results.filter((r) => r.skipped).length,
  };
}
