import { releaseTestImages } from '../conformance/index.js';
import { NETCHECK_CASES, type NetcheckCase } from './cases.js';
import {
  agnhostServer,
  deployFixture,
  type NetcheckTable,
  tableMatches,
  tableProber,
} from '../reachability/index.js';
import { clusterFamilies, controlPlaneOf, type Driver, ensureImage, imageCacheDir, kubectlOn, kubeProxyMode, LABELS, LocalClusterError, localClusterHome, type Logger, runningNodes, serverVersion, syncImagesIntoNodes } from '@local-cluster/core';

export interface NetcheckOptions {
  driver: Driver;
  cluster: string;
  /** Case names (default: every case). */
  cases?: readonly string[];
  home?: string;
  logger: Logger;
  signal: AbortSignal;
  /** Probe rounds per table (cells not yet as expected are probed again). Default 6. */
  attempts?: number;
  /** Keep the test namespace afterwards (for a look with kubectl). */
  keep?: boolean;
  /** Called as each table is done. */
  onTable?: (table: NetcheckTable) => void;
}

export interface NetcheckCaseResult {
  name: string;
  /** The address family its tables probed (a dual-stack cluster runs every case in each). */
  family: 'ipv4' | 'ipv6';
  description: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped, or why it could not run (set-up failed). */
  reason?: string;
  tables: NetcheckTable[];
  durationMs: number;
}

export interface NetcheckReport {
  cluster: string;
  kubernetesVersion: string;
  cni: string;
  proxyMode: string;
  nodes: string[];
  /** The cluster's address families, each of which every case ran in. */
  families: ('ipv4' | 'ipv6')[];
  namespace: string;
  cases: NetcheckCaseResult[];
  passed: number;
  failed: number;
  skipped: number;
  cells: { total: number; asExpected: number };
  durationMs: number;
}

export function netcheckCaseNames(): string[] {
  return NETCHECK_CASES.map((c) => c.name);
}

/** The cases named, in their canonical order; an unknown name is a ConfigError listing the known ones. */
export function selectCases(names: readonly string[] | undefined): NetcheckCase[] {
  if (!names || names.length === 0) return [...NETCHECK_CASES];
  const known = new Map(NETCHECK_CASES.map((c) => [c.name, c]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new LocalClusterError(`Unknown netcheck case${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, {
      hint: `Cases: ${[...known.keys()].join(', ')} (\`local-cluster netcheck --list\` describes them).`,
    });
  }
  return NETCHECK_CASES.filter((c) => names.includes(c.name));
}

/**
 * Service truth tables: deploys agnhost netexec servers on every node (and
 * on every node's host network), then for each case the Services it needs,
 * and probes every source against every target, positive cells and negative
 * controls alike. The cluster is left as it was (one namespace, removed at
 * the end) apart from the agnhost image loaded into its nodes.
 */
export async function runNetcheck(options: NetcheckOptions): Promise<NetcheckReport> {
  const { driver, cluster, logger, signal } = options;
  const started = performance.now();
  const cases = selectCases(options.cases);
  const home = options.home ?? localClusterHome();
  const nodes = await runningNodes(driver, cluster, signal);
  const controlPlane = controlPlaneOf(nodes);
  const kubectl = (args: readonly string[], stdin?: string) => kubectlOn(controlPlane, args, { ...(stdin !== undefined ? { stdin } : {}), signal });
  const version = await serverVersion(kubectl);

  // agnhost of the cluster's own release: the conformance suite's recipe, so one cached image serves both
  const agnhost = (await releaseTestImages(version)).needed.find((n) => /\/agnhost:/.test(n.image.ref));
  if (!agnhost) throw new Error(`Kubernetes ${version}'s image table has no agnhost image`);
  const cacheDir = imageCacheDir(home);
  await ensureImage({ ...agnhost, neededBy: 'local-cluster netcheck' }, { driver, cacheDir, logger, signal });
  await syncImagesIntoNodes(driver, nodes, [agnhost.image.ref], { cacheDir, logger, signal });

  const proxyMode = await kubeProxyMode(kubectl);
  const cni = controlPlane.labels[LABELS.cni] ?? 'unknown';
  const families = await clusterFamilies(kubectl);
  const namespace = `netcheck-${Math.random().toString(36).slice(2, 8)}`;
  logger.info(`netcheck on ${cluster}: Kubernetes ${version}, CNI ${cni}, kube-proxy ${proxyMode}, ${nodes.length} node(s)${families.length > 1 || families[0] !== 'ipv4' ? `, ${families.join(' and ')}` : ''}; namespace ${namespace}`);
  // the ingress addon's ports as the host reaches them (its cases probe from 127.0.0.1 too)
  const hostPorts = new Map<number, number>();
  for (const port of [80, 443]) {
    const published = await controlPlane.hostPort(port, { signal }).catch(() => undefined);
    if (published !== undefined) hostPorts.set(port, published);
  }
  const results: NetcheckCaseResult[] = [];
  let fixtureNodes: string[] = [];
  // one family (the usual IPv4 cluster): its tables as ever; several: a namespace, fixture and table set per family
  const perFamily = families.length > 1 || families[0] !== 'ipv4';
  for (const family of families) {
    const ns = perFamily && family === 'ipv6' && families.length > 1 ? `${namespace}-v6` : namespace;
    if (perFamily) logger.info(`${family}: every case with addresses and Services of that family${ns !== namespace ? ` (namespace ${ns})` : ''}`);
    const fixture = await deployFixture(kubectl, { server: agnhostServer(agnhost.image.ref), namespace: ns, ...(perFamily ? { family } : {}), signal });
    fixture.hostPorts = hostPorts;
    fixtureNodes = fixture.nodes.map((n) => n.name);
    const prober = tableProber(fixture, { ...(options.attempts ? { attempts: options.attempts } : {}), ...(options.onTable ? { onTable: options.onTable } : {}) });
    // a dual-stack run names its IPv6 tables apart from the IPv4 ones
    const probe: typeof prober = perFamily && families.length > 1 && family === 'ipv6' ? (spec) => prober({ ...spec, name: `${spec.name} (ipv6)` }) : prober;
    try {
      for (const c of cases) {
        const caseStarted = performance.now();
        const base = { name: c.name, family, description: c.description };
        if (c.minNodes && fixture.nodes.length < c.minNodes) {
          results.push({ ...base, status: 'skipped', reason: `needs ${c.minNodes} nodes; cluster "${cluster}" has ${fixture.nodes.length}`, tables: [], durationMs: 0 });
          continue;
        }
        logger.info(`case ${c.name}${perFamily ? ` (${family})` : ''}`);
        try {
          const outcome = await c.run(fixture, probe);
          const durationMs = performance.now() - caseStarted;
          if ('skipped' in outcome) results.push({ ...base, status: 'skipped', reason: outcome.skipped, tables: [], durationMs });
          else results.push({ ...base, status: outcome.every(tableMatches) ? 'passed' : 'failed', tables: outcome, durationMs });
        } catch (e) {
          signal.throwIfAborted();
          results.push({ ...base, status: 'failed', reason: `could not run: ${(e as Error).message}`, tables: [], durationMs: performance.now() - caseStarted });
        }
      }
    } finally {
      if (!options.keep) await kubectlOn(controlPlane, ['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    }
  }
  const cells = results.flatMap((r) => r.tables.flatMap((t) => t.cells));
  return {
    cluster,
    kubernetesVersion: version,
    cni,
    proxyMode,
    nodes: fixtureNodes,
    families,
    namespace,
    cases: results,
    passed: results.filter((r) => r.status === 'passed').length,
    failed: results.filter((r) => r.status === 'failed').length,
    skipped: results.filter((r) => r.status === 'skipped').length,
    cells: { total: cells.length, asExpected: cells.filter((c) => c.expected === c.observed).length },
    durationMs: performance.now() - started,
  };
}
