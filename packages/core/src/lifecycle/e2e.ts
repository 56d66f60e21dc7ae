import { LABELS, type CallOptions, type Driver } from '../contracts/driver.js';
import { describePolicyFailures, runPolicyChecks } from './policy-checks.js';
import { controlPlaneOf, kubectlOn } from './context.js';
import { readyCondition, type KubeObjectList } from './kube-objects.js';
import { deployNetworkProbe, describeFailures, podNetworkTables, removeNetworkProbe, type Kubectl } from './network-checks.js';

export interface E2eOptions extends CallOptions {
  driver: Driver;
  cluster: string;
  serial?: boolean;
  focus?: string;
  /** An image on every node with busybox httpd/wget (see @local-cluster/images TOOLBOX_IMAGE). */
  probeImage: string;
}

export interface E2eResult {
  name: string;
  ok: boolean;
  durationMs: number;
  error?: string;
  /** Why the check did not apply to this cluster (counted apart, neither passed nor failed). */
  skipped?: string;
}

export interface E2eReport {
  cluster: string;
  results: E2eResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/** A conformance check run against a live cluster through kubectl on the control plane. */
export interface E2eCheck {
  name: string;
  serial?: boolean;
  /** Resolves, or with `{ skipped }` when the check does not apply to this cluster. */
  run(kubectl: Kubectl, env: E2eEnv): Promise<void | { skipped: string }>;
}

/** What a check knows about the cluster under test. */
export interface E2eEnv {
  probeImage: string;
  /** The cluster's CNI plugin and whether it enforces NetworkPolicy (from the node labels). */
  cni: string | undefined;
  networkPolicy: boolean;
}

export const E2E_CHECKS: E2eCheck[] = [
  {
    name: 'nodes are Ready',
    async run(kubectl) {
      const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as KubeObjectList;
      const notReady = list.items.filter((n) => readyCondition(n) === undefined);
      if (list.items.length === 0 || notReady.length) throw new Error(`not Ready: ${notReady.map((n) => n.metadata.name).join(', ') || 'no nodes'}`);
    },
  },
  {
    name: 'CoreDNS is available',
    async run(kubectl) {
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
    name: 'pods on every node reach each other over TCP; a ClusterIP Service answers by IP and DNS name, and a NodePort on every node, from every node; a Service port it lacks and an unused pod address answer nothing (traffic stays on the nodes)',
    async run(kubectl, env) {
      const probe = await deployNetworkProbe(kubectl, { image: env.probeImage });
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
      if (!env.networkPolicy) return { skipped: `CNI plugin "${env.cni ?? 'unknown'}" does not enforce NetworkPolicy` };
      const failures = describePolicyFailures(await runPolicyChecks(kubectl, { image: env.probeImage }));
      if (failures) throw new Error(failures);
    },
  },
];

/** Where the latest quick checks are kept in the cluster (kube-system), for the dashboard. */
export const CHECKS_CONFIGMAP = 'local-cluster-checks';

/** Runs the conformance checks (`e2e`, `e2e-serial`) against a running cluster. */
export async function runE2e(options: E2eOptions): Promise<E2eReport> {
  const nodes = await options.driver.listNodes({ cluster: options.cluster, role: 'node' }, options);
  if (nodes.length === 0) throw new Error(`cluster "${options.cluster}" has no running nodes: run \`local-cluster up\` first`);
  const controlPlane = controlPlaneOf(nodes);
  const kubectl = (args: readonly string[], stdin?: string) =>
    kubectlOn(controlPlane, args, { ...(stdin !== undefined ? { stdin } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const checks = E2E_CHECKS.filter((c) => Boolean(c.serial) === Boolean(options.serial) && (!options.focus || c.name.includes(options.focus)));
  const env: E2eEnv = {
    probeImage: options.probeImage,
    cni: controlPlane.labels[LABELS.cni],
    networkPolicy: controlPlane.labels[LABELS.networkPolicy] === 'true',
  };
  const runOne = async (check: E2eCheck): Promise<E2eResult> => {
    const started = performance.now();
    try {
      const outcome = await check.run(kubectl, env);
      if (outcome && 'skipped' in outcome) return { name: check.name, ok: true, durationMs: performance.now() - started, skipped: outcome.skipped };
      return { name: check.name, ok: true, durationMs: performance.now() - started };
    } catch (e) {
      return { name: check.name, ok: false, durationMs: performance.now() - started, error: (e as Error).message };
    }
  };
  const results: E2eResult[] = [];
  if (options.serial) for (const c of checks) results.push(await runOne(c));
  else results.push(...(await Promise.all(checks.map(runOne))));
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
