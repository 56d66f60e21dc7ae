import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ensureGoBinaries, ensureImage, goModuleDir, imageCacheDir, localClusterHome, runningNodes, syncImagesIntoNodes, type Driver, type GoBinary, type ImageRequirement, type Logger } from '@local-cluster/core';
import type { SpecResult } from './report.js';

/**
 * Gateway API's own conformance suite: the `conformance` module of sigs.k8s.io/gateway-api at the
 * CRDs' release, built with `go test -c` (its go.mod replaces the API module with `../`, taken from
 * the proxy at the same release), run from this machine against a GatewayClass of the cluster for
 * a profile (GATEWAY-HTTP: its core features). Its backends run `echo-basic`, built from the same
 * module under every name the suite's manifests use, and loaded into every node.
 */
export const GATEWAY_CONFORMANCE_MODULE = 'sigs.k8s.io/gateway-api/conformance';

export function gatewayConformanceBinary(version: string): GoBinary {
  return { module: GATEWAY_CONFORMANCE_MODULE, version, package: '.', binary: 'gateway-conformance.test', test: true, inTreeReplacesAt: version };
}

/** Every image the suite's manifests (base and tests) name, read from the module. */
export async function gatewayConformanceRefs(version: string): Promise<string[]> {
  const dir = await goModuleDir(GATEWAY_CONFORMANCE_MODULE, version);
  const files = [join(dir, 'base', 'manifests.yaml'), ...(await readdir(join(dir, 'tests'))).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, 'tests', f))];
  const refs = new Set<string>();
  for (const file of files) for (const m of (await readFile(file, 'utf8')).matchAll(/image:\s*(\S+)/g)) refs.add(m[1]!);
  return [...refs].sort();
}

/** The echo-basic image names among them. */
export async function echoBasicRefs(version: string): Promise<string[]> {
  return (await gatewayConformanceRefs(version)).filter((r) => /\/echo-basic:/.test(r));
}

/**
 * The suite's images: echo-basic (its backends) built from the same module under every name the
 * manifests use, and CoreDNS at the tag they name (a resolver some tests deploy), built from its
 * module as the node image builds its own (`/coredns`, upstream's entrypoint). Any other image: an error.
 */
export function gatewayConformanceImages(version: string, refs: readonly string[]): ImageRequirement[] {
  const echo: GoBinary = { module: GATEWAY_CONFORMANCE_MODULE, version, package: 'echo-basic', binary: 'echo-basic', inTreeReplacesAt: version };
  return refs.map((ref) => {
    if (/\/echo-basic:/.test(ref)) return { ref, recipe: { go: [echo], entrypoint: ['/usr/local/bin/echo-basic'] } };
    const coredns = /\/coredns\/coredns:(v\d+\.\d+\.\d+)$/.exec(ref);
    if (coredns) return { ref, recipe: { go: [{ module: 'github.com/coredns/coredns', version: coredns[1]!, binary: 'coredns', dir: '/' }], entrypoint: ['/coredns'] } };
    throw new Error(`the Gateway API conformance suite ${version} names image ${ref}, which has no recipe here`);
  });
}

/** One image per echo-basic name, all of the one binary. */
export function echoBasicImages(version: string, refs: readonly string[]): ImageRequirement[] {
  return gatewayConformanceImages(version, refs.filter((r) => /\/echo-basic:/.test(r)));
}

export interface GatewayConformanceOptions {
  driver: Driver;
  cluster: string;
  /** The Gateway API release of the cluster's CRDs (the suite's version). */
  version: string;
  gatewayClass: string;
  /** Default GATEWAY-HTTP. */
  profiles?: string[];
  /** Features the implementation claims beyond the profile's core ones. */
  supportedFeatures?: string[];
  /** Tests skipped by name (-skip-tests). */
  skipTests?: string[];
  /** The implementation, for the report. */
  implementation: { organization: string; project: string; url: string; version: string; contact: string[] };
  /** Where the suite's YAML report goes. */
  reportFile: string;
  home?: string;
  logger: Logger;
  signal: AbortSignal;
}

export interface GatewayConformanceResult {
  tests: SpecResult[];
  passed: number;
  failed: number;
  skipped: number;
  /** The suite's report (ConformanceReport), as it wrote it. */
  report?: { profiles?: { name: string; core?: { result: string; statistics: Record<string, number>; skippedTests?: string[]; failedTests?: string[] } }[] };
  exitCode: number;
  logFile: string;
  durationMs: number;
}

/** `--- PASS: TestConformance/Name (1.23s)` lines of `go test -v`: one result per subtest. */
export function parseGoTestLines(output: string): SpecResult[] {
  const results: SpecResult[] = [];
  for (const m of output.matchAll(/^\s*--- (PASS|FAIL|SKIP): TestConformance\/([^/\s]+) \(([\d.]+)s\)$/gm)) {
    results.push({ name: m[2]!, state: m[1] === 'PASS' ? 'passed' : m[1] === 'FAIL' ? 'failed' : 'skipped', durationMs: Number(m[3]) * 1000 });
  }
  return results;
}

export async function runGatewayConformance(options: GatewayConformanceOptions): Promise<GatewayConformanceResult> {
  const { driver, cluster, version, logger, signal } = options;
  const started = performance.now();
  const home = options.home ?? localClusterHome();
  const cacheDir = imageCacheDir(home);
  const nodes = await runningNodes(driver, cluster, signal);
  const refs = await gatewayConformanceRefs(version);
  for (const image of gatewayConformanceImages(version, refs)) await ensureImage({ image, neededBy: 'gateway conformance' }, { driver, cacheDir, logger, signal });
  await syncImagesIntoNodes(driver, nodes, refs, { cacheDir, logger, signal });
  const bins = await ensureGoBinaries('gateway-conformance', [gatewayConformanceBinary(version)], { cacheDir, logger, signal, neededBy: 'gateway conformance' });
  const binary = bins['gateway-conformance.test']!;
  const kubeconfig = join(home, 'clusters', cluster, 'admin.conf');
  const impl = options.implementation;
  const args = [
    '-test.run', '^TestConformance$', '-test.v', '-test.timeout', '60m',
    `-gateway-class=${options.gatewayClass}`,
    `-conformance-profiles=${(options.profiles ?? ['GATEWAY-HTTP']).join(',')}`,
    ...(options.supportedFeatures?.length ? [`-supported-features=${options.supportedFeatures.join(',')}`] : []),
    ...(options.skipTests?.length ? [`-skip-tests=${options.skipTests.join(',')}`] : []),
    `-organization=${impl.organization}`, `-project=${impl.project}`, `-url=${impl.url}`, `-version=${impl.version}`, `-contact=${impl.contact.join(',')}`,
    `-report-output=${options.reportFile}`,
    '-cleanup-base-resources=true',
  ];
  const logDir = join(home, 'cache', 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `gateway-conformance-${cluster}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const log = createWriteStream(logFile);
  logger.info(`gateway conformance ${version} (${(options.profiles ?? ['GATEWAY-HTTP']).join(', ')}) against GatewayClass ${options.gatewayClass}; log ${logFile}`);
  let output = '';
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(binary, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, signal, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      log.write(chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  }).finally(() => log.end());
  const tests = parseGoTestLines(output);
  const report = await readFile(options.reportFile, 'utf8').then((t) => yaml.load(t) as GatewayConformanceResult['report']).catch(() => undefined);
  return {
    tests,
    passed: tests.filter((t) => t.state === 'passed').length,
    failed: tests.filter((t) => t.state === 'failed').length,
    skipped: tests.filter((t) => t.state === 'skipped').length,
    ...(report ? { report } : {}),
    exitCode,
    logFile,
    durationMs: performance.now() - started,
  };
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The per-test results as a JUnit XML report (one testsuite, a testcase per conformance test). */
export function gatewayJunit(result: Pick<GatewayConformanceResult, 'tests' | 'failed' | 'skipped' | 'durationMs'>, name = 'gateway-api-conformance'): string {
  const cases = result.tests.map((t) => {
    const body = t.state === 'failed' ? `<failure message="${xml(t.message ?? 'failed')}"/>` : t.state === 'skipped' ? '<skipped/>' : '';
    return `  <testcase name="${xml(t.name)}" classname="${xml(name)}" time="${(t.durationMs / 1000).toFixed(3)}">${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xml(name)}" tests="${result.tests.length}" failures="${result.failed}" skipped="${result.skipped}" time="${(result.durationMs / 1000).toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
