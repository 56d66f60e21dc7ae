import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { containerdMajorFor, kubernetesVersionProblem } from '../config/kubernetes-versions.js';
import { DEFAULT_KUBERNETES_VERSION } from '../config/schema.js';
import { ConfigError, LocalClusterError } from '../errors.js';
import { findGo } from './go.js';

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

/**
 * Asks the machine's Go module proxy for k8s.io/kubernetes at this version (downloading it
 * into the module cache) and reads what the build needs from it. A version the proxy does
 * not serve is a ConfigError naming the setting; nothing else is touched.
 */
export async function resolveKubernetesRelease(version: string, options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<KubernetesRelease> {
  const problem = kubernetesVersionProblem(version);
  if (problem) throw new ConfigError(`${SETTING} (--kubernetes-version) ${version} ${problem}.`, { setting: SETTING });
  const env = options.env ?? process.env;
  const go = findGo(env);
  if (!go) {
    throw new LocalClusterError(`Building Kubernetes ${version} needs a Go toolchain, and none was found.`, { hint: 'Install Go (https://go.dev/dl) or set GO=/path/to/go.' });
  }
  const cwd = await mkdtemp(join(tmpdir(), 'local-cluster-k8s-'));
  try {
    const goEnv = { ...env, GOWORK: 'off', GOFLAGS: [env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' ') };
    const signal = options.signal ? { signal: options.signal } : {};
    const dl = await run([go, 'mod', 'download', '-json', `k8s.io/kubernetes@${version}`], { cwd, env: goEnv, ...signal });
    let info: { Dir?: string; GoMod?: string; Error?: string } = {};
    try {
      info = JSON.parse(dl.stdout) as typeof info;
    } catch {
      info = {};
    }
    if (dl.code !== 0 || !info.Dir || !info.GoMod) {
      const why = ((info.Error ?? dl.stderr).trim().split('\n').pop() ?? 'no answer').replace(/\s+/g, ' ').trim();
      throw new ConfigError(`${SETTING} (--kubernetes-version) ${version}: the machine's Go module proxy does not serve k8s.io/kubernetes@${version} (${why}).`, {
        setting: SETTING,
        hint: `${LIST_HINT} Pick one of those (the default is ${DEFAULT_KUBERNETES_VERSION}).`,
      });
    }
    const goMod = await readFile(info.GoMod, 'utf8');
    const constantsPath = join(info.Dir, 'cmd/kubeadm/app/constants/constants.go');
    const images = parseKubeadmConstants(await readFile(constantsPath, 'utf8'), `k8s.io/kubernetes@${version}/cmd/kubeadm/app/constants/constants.go`);
    const localGo = (await run([go, 'env', 'GOVERSION'], { cwd, env: { ...goEnv, GOTOOLCHAIN: 'local' }, ...signal })).stdout.trim();
    return { version, dir: info.Dir, go: goDirective(goMod), toolchain: goToolchainFor(goMod, localGo), localGo, images, containerd: containerdMajorFor(version) };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
