/**
 * Suites a plugin author runs against their own plugin with one call, on any runner that has
 * describe/it/beforeAll/afterAll (vitest, node:test via adapters, Deno's BDD module):
 *
 *   await cniSuite({ cniPlugin: 'local-cluster-cni-mine' }, { describe, it, expect, beforeAll, afterAll });
 *   await addonSuite({ addon: 'local-cluster-addon-mine' }, { describe, it, expect, beforeAll, afterAll });
 *
 * Each brings a cluster up with the plugin (createCluster), registers one test per check that
 * applies (the network checks `local-cluster check` runs: nodes Ready, CoreDNS, pod to pod
 * across nodes, ClusterIP by address and name, NodePort, traffic that must not leave the nodes,
 * and NetworkPolicy when the plugin says it enforces it), and removes the cluster afterwards.
 */
import { loadPlugin, NODE_CONTRACT, type CniPlugin } from '@local-cluster/core';
import { QUICK_CHECKS, runQuickChecks } from '@local-cluster/verify';
import { createDriver, BUILTIN_CNI } from '../wiring.js';
import { createCluster, type ClusterHandle, type CreateClusterOptions } from '../create-cluster.js';
import { loadConfig } from '@local-cluster/core';

/** The test functions a suite registers through (vitest's, or any with the same shape). */
export interface SuiteRunner {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void;
  expect: (value: unknown) => { toBe(v: unknown): void };
  beforeAll(fn: () => Promise<void> | void, timeoutMs?: number): void;
  afterAll(fn: () => Promise<void> | void, timeoutMs?: number): void;
}

export interface SuiteOptions extends Omit<CreateClusterOptions, 'cluster'> {
  /** Extra cluster settings (name, numNodes, ...); the suite sets the plugin under test. */
  cluster?: CreateClusterOptions['cluster'];
}

const UP_TIMEOUT = 1_800_000;

/** The checks a cluster is put through, and which apply: NetworkPolicy only with a CNI that enforces it. */
async function applicableChecks(cni: CniPlugin): Promise<{ name: string; applies: boolean }[]> {
  return QUICK_CHECKS.map((c) => ({ name: c.name, applies: !c.name.startsWith('NetworkPolicy') || Boolean(cni.supports?.networkPolicy) }));
}

function registerChecks(title: string, options: CreateClusterOptions, checks: { name: string; applies: boolean }[], t: SuiteRunner, extra?: (get: () => ClusterHandle) => void): void {
  t.describe(title, () => {
    let cluster: ClusterHandle | undefined;
    t.beforeAll(async () => {
      cluster = await createCluster(options);
    }, UP_TIMEOUT);
    t.afterAll(async () => {
      await cluster?.dispose();
    }, 300_000);
    for (const check of checks.filter((c) => c.applies)) {
      t.it(check.name, async () => {
        const report = await runQuickChecks({ driver: createDriver(loadConfig({ env: {}, overrides: { dind: options.dind ?? {} } })), cluster: cluster!.name, focus: check.name, probeImage: NODE_CONTRACT.toolboxImage });
        const result = report.results[0];
        if (!result || !result.ok) throw new Error(result?.error ?? `check "${check.name}" did not run`);
      }, 600_000);
    }
    extra?.(() => cluster!);
  });
}

/** The network checks against a cluster that runs your CNI plugin (by npm name or path). */
export async function cniSuite(options: SuiteOptions & { cniPlugin: string }, t: SuiteRunner): Promise<void> {
  const { cniPlugin, cluster, ...rest } = options;
  const baseDir = rest.baseDir ?? process.cwd();
  const cni = await loadPlugin(cniPlugin, 'cni', { baseDir, builtins: BUILTIN_CNI, builtinsFrom: [import.meta.url], setting: 'cluster.cniPlugin' });
  const checks = await applicableChecks(cni);
  const create: CreateClusterOptions = { ...rest, baseDir, cluster: { numNodes: 2, addons: [], ...cluster, cniPlugin } };
  registerChecks(`CNI plugin ${cni.name}: local-cluster network checks${cni.supports?.networkPolicy ? '' : ' (NetworkPolicy not claimed: its check is not registered)'}`, create, checks, t);
}

/**
 * Your addon (npm name, path or manifest) on a cluster: `up` waited for it, its objects are
 * there, the network checks still pass with it installed, and it survives `down`/`up` (restored
 * from the snapshot, not installed again).
 */
export async function addonSuite(
  options: SuiteOptions & {
    addon: string;
    /** Your check that the addon works; after the restore its pods may still be starting, so poll. */
    readyCheck?: (cluster: ClusterHandle) => Promise<void>;
  },
  t: SuiteRunner,
): Promise<void> {
  const { addon, readyCheck, cluster, ...rest } = options;
  const baseDir = rest.baseDir ?? process.cwd();
  const bridge = await loadPlugin('bridge', 'cni', { baseDir, builtins: BUILTIN_CNI, builtinsFrom: [import.meta.url] });
  const checks = await applicableChecks(bridge);
  const create: CreateClusterOptions = { ...rest, baseDir, onDispose: 'down', cluster: { numNodes: 1, ...cluster, addons: [addon] } };
  registerChecks(`addon ${addon}: installed by up, network checks with it, restored from the snapshot`, create, checks, t, (get) => {
    if (readyCheck) t.it('answers as its author says (readyCheck)', () => readyCheck(get()), 600_000);
    t.it('comes back from the snapshot after down, without being installed again', async () => {
      await get().dispose(); // onDispose 'down': the snapshot stays
      const again = await createCluster({ ...create, onDispose: 'clean' });
      try {
        t.expect(again.restored).toBe(true);
        if (readyCheck) await readyCheck(again);
      } finally {
        await again.dispose();
      }
    }, UP_TIMEOUT);
  });
}
