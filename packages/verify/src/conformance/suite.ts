/**
 * What `e2e` (the conformance suite against a cluster) and `e2e-node` (the node e2e
 * suite against one kubelet) share: the suite and its runner built at the cluster's
 * version, the test filters, the dry run that says which tests the filters select,
 * the report directory, progress from ginkgo's output and the final report.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { literalPattern, parseGinkgoReport, parseSpecLine, type SpecResult, type SuiteResults } from './report.js';
import { AbortedError, clusterDir, ensureGoBinaries, type GoBinary, goModuleDir, LocalClusterError, type Logger } from '@local-cluster/core';

const exec = promisify(execFile);

/** What the user gave to choose tests. */
export interface TestFilterOptions {
  /** Only tests whose full name contains this text. */
  focus?: string;
  /** Only tests whose full name matches this regular expression (ginkgo --focus). */
  focusRegex?: string;
  /** Leave out tests whose name contains this text. */
  skip?: string;
  /** Leave out tests whose name matches this regular expression. */
  skipRegex?: string;
}

export interface TestFilters {
  /** ginkgo flags: --label-filter, --focus, --skip (for e2e.test: prefix them with ginkgo.). */
  flags: string[];
  labelFilter: string;
  /** What the user gave for the focus and skip applied (the regex forms win over the substrings). */
  focusGiven?: string;
  skipGiven?: string;
}

/** ginkgo filter flags from the user's focus/skip (substrings or regexes) and a label filter; `extraSkips` are regexes always left out. */
export function testFilters(options: TestFilterOptions, labelFilter: string, extraSkips: readonly string[] = []): TestFilters {
  const focusGiven = options.focusRegex ?? options.focus;
  const skipGiven = options.skipRegex ?? options.skip;
  const focus = options.focusRegex ?? (options.focus ? literalPattern(options.focus) : undefined);
  const userSkip = options.skipRegex ?? (options.skip ? literalPattern(options.skip) : undefined);
  const skips = [...(userSkip ? [userSkip] : []), ...extraSkips];
  const skip = skips.length > 1 ? skips.map((s) => `(?:${s})`).join('|') : skips[0];
  return {
    flags: [`--label-filter=${labelFilter}`, ...(focus ? [`--focus=${focus}`] : []), ...(skip ? [`--skip=${skip}`] : [])],
    labelFilter,
    ...(focusGiven ? { focusGiven } : {}),
    ...(skipGiven ? { skipGiven } : {}),
  };
}

/** A suite binary (`e2e.test`, `e2e_node.test`) and ginkgo, built at the cluster's version (cached by the image factory). */
export async function ensureSuiteBinaries(
  name: string,
  version: string,
  binaries: (version: string, goMod: string) => GoBinary[],
  options: { cacheDir: string; logger: Logger; signal: AbortSignal; neededBy: string },
): Promise<Record<string, string>> {
  const source = await goModuleDir('k8s.io/kubernetes', version);
  const goMod = await readFile(join(source, 'go.mod'), 'utf8');
  return ensureGoBinaries(`${name}-${version}`, binaries(version, goMod), options);
}

/** A new report directory of a run: <home>/clusters/<cluster>/<kind>/<timestamp>. */
export async function newReportDir(home: string, cluster: string, kind: string, now = new Date()): Promise<string> {
  const dir = join(clusterDir(home, cluster), kind, now.toISOString().replace(/[:.]/g, '-'));
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Which tests the filters select, by a dry run of the suite binary on this machine
 * (`args`: the suite's own flags it needs to start). A refused filter is the user's error.
 */
export async function selectTests(
  suite: string,
  filters: TestFilters,
  args: readonly string[],
  reportDir: string,
  options: { signal: AbortSignal; what: string; env?: NodeJS.ProcessEnv },
): Promise<SuiteResults> {
  const { signal } = options;
  const dry = join(reportDir, 'selected.json');
  await exec(suite, ['--ginkgo.dry-run', '--ginkgo.no-color', '--ginkgo.silence-skips', ...filters.flags.map((f) => f.replace(/^--/, '--ginkgo.')), `--ginkgo.json-report=${dry}`, ...args], {
    maxBuffer: 64 << 20,
    signal,
    cwd: reportDir,
    ...(options.env ? { env: options.env } : {}),
  }).catch((error: Error & { stderr?: string }) => {
    if (signal.aborted) throw new AbortedError(options.what);
    throw new LocalClusterError(`The test filters were refused by ${suite.slice(suite.lastIndexOf('/') + 1)}: ${(error.stderr ?? error.message).trim().split('\n').slice(-3).join(' ')}`, {
      hint: 'Check --focus-regex/--skip-regex (regular expressions) and --label-filter (a ginkgo label expression).',
    });
  });
  return parseGinkgoReport(await readFile(dry, 'utf8'));
}

export type SpecEvent = { done: number; total: number; name: string; state: SpecResult['state']; seconds: number };

/**
 * The test's name from the line ginkgo -v prints after a spec's state: it marks the
 * failing node (`[It]`) and appends the labels (`[sig-network, Conformance]`).
 */
export function printedSpecName(line: string, known: readonly string[]): string {
  return knownSpecName(line, known) ?? cleanSpecLine(line).replace(/ \[[^\]]*\]$/, '');
}

function cleanSpecLine(line: string): string {
  return line.trim().replace(/ \[(It|BeforeEach|AfterEach|JustBeforeEach|JustAfterEach|DeferCleanup[^\]]*)\] /, ' ');
}

/** The selected test a line names, if it names one. */
export function knownSpecName(line: string, known: readonly string[]): string | undefined {
  const clean = cleanSpecLine(line);
  return known.find((name) => clean === name || clean.startsWith(`${name} [`));
}

/**
 * Follows ginkgo -v output line by line and calls `onSpec` as each selected test finishes.
 * A serial run prints a test's name when it starts and `-----` after its state line; a
 * parallel run prints the name right after the state line.
 */
export function specProgress(names: readonly string[], total: number, onSpec?: (event: SpecEvent) => void): (line: string) => void {
  let done = 0;
  let pending: { state: SpecResult['state']; seconds: number } | undefined;
  let current: string | undefined;
  return (line) => {
    if (pending) {
      if (!line.trim()) return;
      const name = knownSpecName(line, names) ?? (/^-+$/.test(line.trim()) && current ? current : printedSpecName(line, names));
      if (pending.state !== 'skipped' || done < total) {
        done += 1;
        onSpec?.({ done, total, name, ...pending });
      }
      pending = undefined;
      return;
    }
    current = knownSpecName(line, names) ?? current;
    pending = parseSpecLine(line);
  };
}

/** A run's outcome from ginkgo's report.json and exit code, with the JUnit report copied to `junitDir` if asked. */
export async function suiteOutcome(
  reportDir: string,
  code: number,
  log: string,
  junit: { dir?: string; name: string },
): Promise<{ passed: number; failed: number; skipped: number; failures: SpecResult[]; skips: SpecResult[]; specs: SpecResult[]; junit: string }> {
  const reportFile = join(reportDir, 'report.json');
  if (!existsSync(reportFile)) {
    throw new LocalClusterError(`ginkgo exited with code ${code} and wrote no report.`, { hint: `See its output in ${log}.` });
  }
  const results = parseGinkgoReport(await readFile(reportFile, 'utf8'));
  let junitPath = join(reportDir, 'junit.xml');
  if (junit.dir && existsSync(junitPath)) {
    await mkdir(junit.dir, { recursive: true });
    const target = join(junit.dir, junit.name);
    await copyFile(junitPath, target);
    junitPath = target;
  }
  const failures = results.specs.filter((s) => !['passed', 'skipped', 'pending'].includes(s.state));
  // a run that failed before any test (e.g. BeforeSuite) still fails
  const failed = Math.max(results.failed, code !== 0 && failures.length === 0 ? 1 : 0);
  return {
    passed: results.passed,
    failed,
    skipped: results.skipped,
    failures: failed && !failures.length ? [{ name: 'ginkgo', state: 'failed', durationMs: 0, message: `ginkgo exited with code ${code}; see ${log}` }] : failures,
    skips: results.specs.filter((s) => s.state === 'skipped'),
    specs: results.specs,
    junit: junitPath,
  };
}

/** What a run of either suite (`e2e`, `e2e-node`) reports. */
export interface SuiteReport {
  cluster: string;
  kubernetesVersion: string;
  labelFilter: string;
  focus?: string;
  skip?: string;
  parallelism: number;
  /** Tests the filters selected. */
  selected: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  failures: SpecResult[];
  /** Tests that skipped themselves, each with its reason. */
  skips: SpecResult[];
  /** Every test that ran, with its outcome. */
  specs: SpecResult[];
  /** Names of the selected tests (list mode only). */
  tests?: string[];
  /** Where the run's log, JSON and JUnit reports are. */
  reportDir: string;
  junit?: string;
  log: string;
}
