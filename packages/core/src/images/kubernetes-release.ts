import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import semver from 'semver';
import { containerdMajorFor, kubernetesVersionProblem } from '../config/kubernetes-versions.js';
import { DEFAULT_KUBERNETES_VERSION } from '../config/schema.js';
import { kubernetesRelease } from './kubernetes-programs.js';
import { ConfigError, LocalClusterError } from '../errors.js';
import { findGo, inTreeReplaces, majorMatches } from './go.js';

const SETTING = 'source.kubernetesVersion';
const LIST_HINT = 'List the releases the machine\'s Go module proxy serves with `go list -m -versions k8s.io/kubernetes` (the list may omit some patch releases the proxy still serves).';

/** The etcd, CoreDNS and pause versions a kubeadm release asks for, read off its cmd/kubeadm/app/constants/constants.go. */
export interface KubeadmImageVersions {
  /** e.g. 3.6.8 (kubeadm tags the image 3.6.8-0). */
  etcd: string;
  /** e.g. v1.14.2 */
  coredns: string;
  /** e.g. 3.10.2 */
  pause: string;
}

/** Parses kubeadm's constants.go; throws naming the constant it cannot find. */
export function parseKubeadmConstants(source: string, what = 'constants.go'): KubeadmImageVersions {
  const constant = (name: string, pattern: RegExp): string => {
    const m = new RegExp(`\\b${name}\\s*=\\s*"([^"]+)"`).exec(source);
    if (!m || !pattern.test(m[1]!)) throw new LocalClusterError(`${what}: no ${name} constant of the expected form (found ${m ? `"${m[1]}"` : 'none'}).`);
    return m[1]!;
  };
  const etcd = constant('DefaultEtcdVersion', /^3\.\d+\.\d+-\d+$/).replace(/-\d+$/, '');
  const coredns = constant('CoreDNSVersion', /^v1\.\d+\.\d+$/);
  const pause = constant('PauseVersion', /^\d+\.\d+(\.\d+)?$/);
  return { etcd, coredns, pause };
}

/** The `go` directive of a go.mod (e.g. 1.26.0), or undefined. */
export function goDirective(goMod: string): string | undefined {
  return /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(goMod)?.[1];
}

function goSemver(v: string): string {
  const parts = v.replace(/^go/, '').split(/[^0-9.]/)[0]!.split('.');
  while (parts.length < 3) parts.push('0');
  return parts.slice(0, 3).join('.');
}

/**
 * The GOTOOLCHAIN a build of a module needs: undefined when the local Go (`go env
 * GOVERSION` under GOTOOLCHAIN=local, e.g. go1.26.8) satisfies its go directive, else
 * `go<directive>` (the module proxy serves golang.org/toolchain).
 */
export function goToolchainFor(goMod: string, localGo: string): string | undefined {
  const need = goDirective(goMod);
  if (!need) return undefined;
  return semver.lt(goSemver(localGo), goSemver(need)) ? `go${need}` : undefined;
}

/** The `require`d modules of a go.mod (single-line and block form), path -> version. */
function goModRequires(goMod: string): Map<string, string> {
  const requires = new Map<string, string>();
  let inBlock = false;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (inBlock) {
      if (line === ')') inBlock = false;
      else if (/^\S+\s+v\S+$/.test(line)) requires.set(line.split(/\s+/)[0]!, line.split(/\s+/)[1]!);
      continue;
    }
    if (/^require\s*\($/.test(line)) inBlock = true;
    const single = /^require\s+(\S+)\s+(v\S+)$/.exec(line);
    if (single) requires.set(single[1]!, single[2]!);
  }
  return requires;
}

/**
 * The k8s.io/* modules a Kubernetes release's go.mod requires that its build takes from the
 * proxy at the release's staging version (e.g. v0.32.13 for v1.32.13): those required at that
 * version, and those required (as the placeholder v0.0.0) and replaced by a directory of the
 * release's own tree (`k8s.io/api => ./staging/src/k8s.io/api`), which the build redirects to
 * the staging version (GoBinary.inTreeReplacesAt). Other k8s.io modules (k8s.io/klog/v2,
 * k8s.io/utils v0.0.0-2024...) are left out. In go.mod order, each once.
 */
export function stagingRequirements(goMod: string, staging: string): string[] {
  const inTree = new Set(inTreeReplaces(goMod));
  const modules: string[] = [];
  for (const [path, version] of goModRequires(goMod)) {
    if (!path.startsWith('k8s.io/')) continue;
    if (version === staging || (inTree.has(path) && majorMatches(path, staging))) modules.push(path);
  }
  return modules;
}

/**
 * The staging modules (paths like k8s.io/endpointslice) that Go files import, as a set: each
 * `"k8s.io/<name>"` or `"k8s.io/<name>/..."` import path whose module is among `candidates`.
 */
export function importedModules(goSource: string, candidates: ReadonlySet<string>, into = new Set<string>()): Set<string> {
  for (const m of goSource.matchAll(/"(k8s\.io\/[A-Za-z0-9._-]+)[/"]/g)) if (candidates.has(m[1]!)) into.add(m[1]!);
  return into;
}

/**
 * Adds, to staging modules already needed, the staging modules they depend on according to the
 * release's staging/publishing/rules.yaml (every branch listed: a superset is safe here).
 */
export function withStagingDependencies(needed: ReadonlySet<string>, rulesYaml: string, candidates: ReadonlySet<string>): Set<string> {
  type Rules = { rules?: { destination?: string; branches?: { dependencies?: { repository?: string }[] }[] }[] };
  const deps = new Map<string, Set<string>>();
  for (const rule of (yaml.load(rulesYaml) as Rules | undefined)?.rules ?? []) {
    if (!rule.destination) continue;
    const set = deps.get(`k8s.io/${rule.destination}`) ?? new Set<string>();
    for (const branch of rule.branches ?? []) for (const d of branch.dependencies ?? []) if (d.repository) set.add(`k8s.io/${d.repository}`);
    deps.set(`k8s.io/${rule.destination}`, set);
  }
  const out = new Set(needed);
  const queue = [...needed];
  while (queue.length) {
    for (const dep of deps.get(queue.pop()!) ?? []) {
      if (candidates.has(dep) && !out.has(dep)) {
        out.add(dep);
        queue.push(dep);
      }
    }
  }
  return out;
}

/** Every non-test Go file under dir, recursively. */
async function goFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.go') && !e.name.endsWith('_test.go')).map((e) => join(e.parentPath, e.name));
}

/**
 * Of the release's staging modules, the ones its code imports (non-test files of cmd/, pkg/,
 * plugin/, third_party/) and what those depend on: modules nothing there imports (e.g.
 * k8s.io/sample-apiserver) are left out, since the build never downloads them. All of them
 * when nothing is found (another layout).
 */
export async function neededStagingModules(moduleDir: string, staging: readonly string[]): Promise<string[]> {
  const candidates = new Set(staging);
  const direct = new Set<string>();
  for (const sub of ['cmd', 'pkg', 'plugin', 'third_party']) {
    for (const file of await goFiles(join(moduleDir, sub))) importedModules(await readFile(file, 'utf8'), candidates, direct);
  }
  if (direct.size === 0) return [...staging];
  const rules = await readFile(join(moduleDir, 'staging/publishing/rules.yaml'), 'utf8').catch(() => undefined);
  const needed = rules ? withStagingDependencies(direct, rules, candidates) : direct;
  return staging.filter((m) => needed.has(m));
}

/** Objects that `go mod download -json` printed, one per module, concatenated (not an array); stops at the first unreadable one. */
export function parseGoJsonStream<T = Record<string, unknown>>(stdout: string): T[] {
  const objects: T[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      try {
        objects.push(JSON.parse(stdout.slice(start, i + 1)) as T);
      } catch {
        return objects;
      }
    }
  }
  return objects;
}

/** The reason in a `go` error: its last line, whitespace collapsed. */
function lastLine(text: string): string {
  return (text.trim().split('\n').pop() ?? '').replace(/\s+/g, ' ').trim() || 'no answer';
}

/** What building the node image of a release needs to know about it. */
export interface KubernetesRelease {
  version: string;
  /** Module directory in the Go module cache. */
  dir: string;
  /** The release's go directive. */
  go: string | undefined;
  /** GOTOOLCHAIN to build it with (undefined: the local Go). */
  toolchain: string | undefined;
  localGo: string;
  images: KubeadmImageVersions;
  containerd: 1 | 2;
}

function run(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { ...options, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && options.signal?.aborted) return reject(error);
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Releases resolved in this process, by Go binary, proxy and version: preflight and the image build both ask. */
const resolved = new Map<string, Promise<KubernetesRelease>>();

/**
 * Asks the machine's Go module proxy for k8s.io/kubernetes at this version (downloading it
 * into the module cache) and reads what the build needs from it. A version the proxy does
 * not serve is a ConfigError naming the setting; nothing else is touched. Once per process:
 * an answer is kept (a failure is not), since checking the staging modules reads the
 * release's source tree.
 */
export async function resolveKubernetesRelease(version: string, options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<KubernetesRelease> {
  const problem = kubernetesVersionProblem(version);
  if (problem) throw new ConfigError(`${SETTING} (--kubernetes-version) ${version} ${problem}.`, { setting: SETTING });
  const env = options.env ?? process.env;
  const go = findGo(env);
  if (!go) {
    throw new LocalClusterError(`Building Kubernetes ${version} needs a Go toolchain, and none was found.`, { hint: 'Install Go (https://go.dev/dl) or set GO=/path/to/go.' });
  }
  const key = [go, env.GOPROXY ?? '', env.GOFLAGS ?? '', version].join('\0');
  let release = resolved.get(key);
  if (!release) {
    release = lookUpKubernetesRelease(version, go, env, options.signal);
    resolved.set(key, release);
    release.catch(() => resolved.delete(key));
  }
  return release;
}

async function lookUpKubernetesRelease(version: string, go: string, env: NodeJS.ProcessEnv, abortSignal: AbortSignal | undefined): Promise<KubernetesRelease> {
  const cwd = await mkdtemp(join(tmpdir(), 'local-cluster-k8s-'));
  try {
    const goEnv = { ...env, GOWORK: 'off', GOFLAGS: [env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' ') };
    const signal = abortSignal ? { signal: abortSignal } : {};
    const dl = await run([go, 'mod', 'download', '-json', `k8s.io/kubernetes@${version}`], { cwd, env: goEnv, ...signal });
    let info: { Dir?: string; GoMod?: string; Error?: string } = {};
    try {
      info = JSON.parse(dl.stdout) as typeof info;
    } catch {
      info = {};
    }
    if (dl.code !== 0 || !info.Dir || !info.GoMod) {
      const why = lastLine(info.Error ?? dl.stderr);
      throw new ConfigError(`${SETTING} (--kubernetes-version) ${version}: the machine's Go module proxy does not serve k8s.io/kubernetes@${version} (${why}).`, {
        setting: SETTING,
        hint: `${LIST_HINT} Pick one of those (the default is ${DEFAULT_KUBERNETES_VERSION}).`,
      });
    }
    const goMod = await readFile(info.GoMod, 'utf8');
    // the build takes the release's staging modules from the proxy too (k8s.io/api@v0.34.4, ...): one the
    // proxy refuses (e.g. a 403 on its zip) would only fail the node image build, so ask now for
    // every one the build will download (those the release's code imports)
    const { staging } = kubernetesRelease(version);
    const modules = (await neededStagingModules(info.Dir, stagingRequirements(goMod, staging))).map((path) => `${path}@${staging}`);
    if (modules.length) {
      const sdl = await run([go, 'mod', 'download', '-json', ...modules], { cwd, env: goEnv, ...signal });
      const answers = new Map(parseGoJsonStream<{ Path?: string; Version?: string; Dir?: string; Error?: string }>(sdl.stdout).map((a) => [`${a.Path}@${a.Version}`, a]));
      const refused = modules.filter((m) => !answers.get(m)?.Dir || answers.get(m)?.Error);
      if (sdl.code !== 0 || refused.length) {
        const what = refused.length ? refused.map((m) => `${m} (${lastLine(answers.get(m)?.Error ?? sdl.stderr)})`).join(', ') : `all of its staging modules (${lastLine(sdl.stderr)})`;
        throw new ConfigError(`${SETTING} (--kubernetes-version) ${version}: the machine's Go module proxy serves k8s.io/kubernetes@${version} but not ${what}, which building it needs.`, {
          setting: SETTING,
          hint: `Pick another release (the default is ${DEFAULT_KUBERNETES_VERSION}). ${LIST_HINT}`,
        });
      }
    }
    const constantsPath = join(info.Dir, 'cmd/kubeadm/app/constants/constants.go');
    const images = parseKubeadmConstants(await readFile(constantsPath, 'utf8'), `k8s.io/kubernetes@${version}/cmd/kubeadm/app/constants/constants.go`);
    const localGo = (await run([go, 'env', 'GOVERSION'], { cwd, env: { ...goEnv, GOTOOLCHAIN: 'local' }, ...signal })).stdout.trim();
    return { version, dir: info.Dir, go: goDirective(goMod), toolchain: goToolchainFor(goMod, localGo), localGo, images, containerd: containerdMajorFor(version) };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
