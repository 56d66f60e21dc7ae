import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { e2eBinaries } from './binaries.js';
import { releaseTestImages } from './images.js';
import { ensureSuiteBinaries, newReportDir, selectTests, specProgress, suiteOutcome, testFilters, type SpecEvent, type SuiteReport } from './suite.js';
import { AbortedError, clusterFamilies, controlPlaneOf, type Driver, ensureImage, hostKubectl, imageCacheDir, isServicesNode, kubectlOn, LocalClusterError, localClusterHome, type Logger, requireKubeconfig, runningNodes, serverVersion, syncImagesIntoNodes } from '@local-cluster/core';

const exec = promisify(execFile);

export interface ConformanceOptions {
  driver: Driver;
  cluster: string;
  home?: string;
  /** `e2e-serial`: the [Serial] tests, one at a time. */
  serial?: boolean;
  /** Only tests whose full name contains this text. */
  focus?: string;
  /** Only tests whose full name matches this regular expression (ginkgo --focus). */
  focusRegex?: string;
  /** Leave out tests whose name contains this text. */
  skip?: string;
  /** Leave out tests whose name matches this regular expression. */
  skipRegex?: string;
  /** Ginkgo label filter. Default: `Conformance && !Serial` (serial: `Conformance && Serial`). */
  labelFilter?: string;
  /** Parallel test processes (ignored for serial runs). Default: fitted to the machine. */
  parallelism?: number;
  /** Also write the JUnit report into this directory. */
  junitDir?: string;
  /** Whole-run timeout in minutes (default 240). */
  timeoutMinutes?: number;
  /** Only list the tests that would run. */
  list?: boolean;
  logger: Logger;
  signal: AbortSignal;
  /** Called as each test finishes. */
  onSpec?: (event: SpecEvent) => void;
}

export type ConformanceReport = SuiteReport;

/** Default parallelism: two test processes per core (tests mostly wait on the cluster), 2 to 8. */
export function defaultParallelism(cores = availableParallelism()): number {
  return Math.max(2, Math.min(8, cores * 2));
}

/** Namespaces the e2e framework made (it labels them e2e-framework=<test base name>). */
async function e2eNamespaces(kubectl: string, kubeconfig: string): Promise<string[]> {
  const r = await exec(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-l', 'e2e-framework', '-o', 'name'], { maxBuffer: 8 << 20 }).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * `e2e`'s default ginkgo label filter: the Conformance tests, serial or not; on a dual-stack
 * cluster the [Feature:IPv6DualStack] tests too, without the SCTP ones where the kernel has none.
 */
export function e2eDefaultLabelFilter(o: { dual: boolean; sctp: boolean; serial: boolean }): string {
  // label regexes: a bare Feature:X would read as ginkgo's key: value label-set syntax
  const dualStack = o.sctp ? '/^Feature:IPv6DualStack$/' : '(/^Feature:IPv6DualStack$/ && !/^Feature:SCTPConnectivity$/)';
  const conformance = o.dual ? `(Conformance || ${dualStack})` : 'Conformance';
  return `${conformance} && ${o.serial ? '' : '!'}Serial`;
}

/**
 * Runs Kubernetes' own conformance suite (`e2e.test` of the cluster's exact
 * version, built from the Go module proxy) against a running cluster, with
 * every image the tests use built offline and loaded into the nodes.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const { driver, cluster, logger, signal } = options;
  const home = options.home ?? localClusterHome();
  const nodes = await runningNodes(driver, cluster, signal);
  const kubeconfig = requireKubeconfig(home, cluster);
  const controlPlane = controlPlaneOf(nodes);
  if (isServicesNode(controlPlane.labels)) {
    throw new LocalClusterError(`Cluster "${cluster}" runs in services mode (an API server and controllers, no nodes): the upstream conformance tests need nodes to run their pods on.`, {
      hint: 'Run `local-cluster check` (API, namespaces, CRDs), or bring up a cluster of nodes (without --mode services) for the upstream suite.',
    });
  }
  const version = await serverVersion((args) => kubectlOn(controlPlane, args, { signal }));

  // the suite and its runner, at the cluster's exact version
  const cacheDir = imageCacheDir(home);
  const binaries = await ensureSuiteBinaries('e2e.test', version, e2eBinaries, { cacheDir, logger, signal, neededBy: 'local-cluster e2e' });
  const e2eTest = binaries['e2e.test']!;
  const ginkgo = binaries.ginkgo!;
  const kubectl = await hostKubectl(controlPlane, join(home, 'cache', 'e2e', version), { signal });

  // a dual-stack cluster also runs the upstream dual-stack tests ([Feature:IPv6DualStack])
  const dual = (await clusterFamilies((args) => kubectlOn(controlPlane, args, { signal }))).length > 1;
  // Some of those are SCTP ones too ([Feature:SCTPConnectivity]): on a kernel without SCTP (no
  // /proc/net/sctp: its module is not loaded) their servers cannot listen, and each waits out its 5
  // minutes and fails; they are left out there (asked only when the default filter is used)
  const sctp = dual && !options.labelFilter && (await controlPlane.exec(['sh', '-c', 'if [ -d /proc/net/sctp ]; then echo yes; else echo no; fi'], { signal })).stdout.trim() === 'yes';
  if (dual && !options.labelFilter) logger.info(`the cluster is dual-stack: the [Feature:IPv6DualStack] tests run too${sctp ? '' : " (not their SCTP ones: the nodes' kernel has no SCTP)"}`);
  const filters = testFilters(options, options.labelFilter ?? e2eDefaultLabelFilter({ dual, sctp, serial: options.serial === true }));
  const { labelFilter, focusGiven, skipGiven } = filters;
  const reportDir = await newReportDir(home, cluster, 'e2e');
  const log = join(reportDir, 'e2e.log');

  // which tests the filters select, before anything runs
  const selected = await selectTests(e2eTest, filters, ['--provider=skeleton', `--kubeconfig=${kubeconfig}`], reportDir, { signal, what: 'e2e run' });
  const what = [focusGiven ? `matching "${focusGiven}"` : '', `with labels "${labelFilter}"`].filter(Boolean).join(' ');
  if (selected.selected === 0) {
    throw new LocalClusterError(`No test of Kubernetes ${version}'s e2e suite is ${what}${skipGiven ? ` once "${skipGiven}" is skipped` : ''}.`, {
      hint: 'The focus is a substring of full test names such as "[sig-network] DNS should provide DNS for the cluster [Conformance]"; `local-cluster e2e --list` lists them.',
    });
  }
  const parallelism = options.serial ? 1 : (options.parallelism ?? defaultParallelism());
  const base: Omit<ConformanceReport, 'passed' | 'failed' | 'skipped' | 'durationMs' | 'failures' | 'skips' | 'specs'> = {
    cluster,
    kubernetesVersion: version,
    labelFilter,
    ...(focusGiven ? { focus: focusGiven } : {}),
    ...(skipGiven ? { skip: skipGiven } : {}),
    parallelism,
    selected: selected.selected,
    reportDir,
    log,
  };
  if (options.list) {
    return { ...base, tests: selected.specs.map((s) => s.name).sort(), passed: 0, failed: 0, skipped: 0, durationMs: 0, failures: [], skips: [], specs: [] };
  }
  logger.info(`${selected.selected} test(s) of Kubernetes ${version} ${what}; ${parallelism} in parallel; report in ${reportDir}`);

  // every image the suite's tests run, built offline and loaded into every node
  const { needed, unbuildable } = await releaseTestImages(version);
  for (const image of needed) await ensureImage(image, { driver, cacheDir, logger, signal });
  await syncImagesIntoNodes(driver, nodes, needed.map((n) => n.image.ref), { cacheDir, logger, signal });
  if (unbuildable.length) logger.debug(`images no recipe builds (tests that use them fail): ${unbuildable.map((i) => i.ref).join(', ')}`);

  const workers = nodes.filter((n) => n.role === 'worker').length;
  const before = new Set(await e2eNamespaces(kubectl, kubeconfig));
  const argv = [
    'run',
    '--no-color',
    '-v',
    `--procs=${parallelism}`,
    ...filters.flags,
    `--timeout=${options.timeoutMinutes ?? 240}m`,
    `--output-dir=${reportDir}`,
    '--json-report=report.json',
    '--junit-report=junit.xml',
    '--silence-skips',
    e2eTest,
    '--',
    `--kubeconfig=${kubeconfig}`,
    '--provider=skeleton',
    `--kubectl-path=${kubectl}`,
    `--num-nodes=${Math.max(1, workers)}`,
    '--disable-log-dump=true',
  ];
  const out = createWriteStream(log);
  out.write(`+ ${ginkgo} ${argv.join(' ')}\n`);
  const started = performance.now();
  const child = spawn(ginkgo, argv, { cwd: reportDir, env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const progress = specProgress(
    selected.specs.map((spec) => spec.name),
    selected.selected,
    options.onSpec,
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    out.write(`${line}\n`);
    progress(line);
  });
  child.stderr.on('data', (chunk: Buffer) => out.write(chunk));
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    // ginkgo passes the interrupt to its test processes, which run their cleanups
    child.kill('SIGINT');
    setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 60_000).unref();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  }).finally(() => signal.removeEventListener('abort', onAbort));
  await new Promise((resolve) => out.end(resolve));

  if (interrupted) {
    const leftover = (await e2eNamespaces(kubectl, kubeconfig)).filter((ns) => !before.has(ns));
    if (leftover.length) {
      logger.info(`removing ${leftover.length} test namespace(s) the interrupted run left`);
      await exec(kubectl, ['--kubeconfig', kubeconfig, 'delete', '--wait=false', ...leftover]).catch(() => undefined);
    }
    throw new AbortedError('e2e run');
  }
  const outcome = await suiteOutcome(reportDir, code, log, { ...(options.junitDir ? { dir: options.junitDir } : {}), name: `junit_${options.serial ? 'serial' : 'e2e'}.xml` });
  return { ...base, ...outcome, durationMs: performance.now() - started };
}
