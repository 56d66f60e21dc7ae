import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { request } from 'undici';
import { ConfigError, LocalClusterError, type ImageBuildContext, type ResolvedConfig } from '@local-cluster/core';

/** kubelet and the control-plane components: what the proposal's "hyperkube" stood for. */
export const NODE_BINARIES = ['kubelet', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'] as const;
export const OVERRIDABLE = ['kubeadm', 'kubectl', ...NODE_BINARIES] as const;

export interface DownloadSource {
  url: string;
  checksum: string;
  /** Binary names this download provides. */
  binaries: readonly string[];
  setting: string;
}

/** Where binaries other than the Go-module build come from, read off the config. */
export interface BinarySources {
  binDir?: string;
  /** Kubernetes source tree and the binaries to build from it. */
  k8sDir?: string;
  fromSource: string[];
  downloads: DownloadSource[];
}

export function binarySources(config: ResolvedConfig, cwd = process.cwd()): BinarySources {
  const s = config.source;
  const fromSource = [
    ...(s.buildKubeadm ? ['kubeadm'] : []),
    ...(s.buildKubectl ? ['kubectl'] : []),
    ...(s.buildHyperkube ? NODE_BINARIES : []),
  ];
  const downloads: DownloadSource[] = [];
  if (s.kubeadmUrl && s.kubeadmSha1) downloads.push({ url: s.kubeadmUrl, checksum: s.kubeadmSha1, binaries: ['kubeadm'], setting: 'source.kubeadmUrl' });
  if (s.kubectlUrl && s.kubectlSha1) downloads.push({ url: s.kubectlUrl, checksum: s.kubectlSha1, binaries: ['kubectl'], setting: 'source.kubectlUrl' });
  if (s.hyperkubeUrl && s.hyperkubeSha1) downloads.push({ url: s.hyperkubeUrl, checksum: s.hyperkubeSha1, binaries: NODE_BINARIES, setting: 'source.hyperkubeUrl' });
  return {
    ...(s.binDir ? { binDir: resolve(cwd, s.binDir) } : {}),
    ...(fromSource.length ? { k8sDir: resolve(cwd, s.k8sDir ?? '.') } : {}),
    fromSource,
    downloads,
  };
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The binaries a prebuilt directory provides (only the names we know). */
function binDirFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ConfigError(`source.binDir ${dir} is not a directory.`, { setting: 'source.binDir', hint: 'Point it at a directory holding kubeadm, kubelet, kubectl, kube-* binaries.' });
  }
  const found = readdirSync(dir).filter((f) => (OVERRIDABLE as readonly string[]).includes(f));
  if (found.length === 0) {
    throw new ConfigError(`source.binDir ${dir} holds none of ${OVERRIDABLE.join(', ')}.`, { setting: 'source.binDir' });
  }
  return found.sort();
}

/**
 * What decides the node image besides the recipes: the prebuilt binaries' content, the
 * downloads' declared checksums, and, for a source tree, its path (reup rebuilds it).
 */
export function sourcesKey(sources: BinarySources): string {
  const hash = createHash('sha256');
  if (sources.binDir) for (const f of binDirFiles(sources.binDir)) hash.update(`bin:${f}:${sha256File(join(sources.binDir, f))}\n`);
  for (const d of sources.downloads) hash.update(`url:${d.url}:${d.checksum.toLowerCase()}\n`);
  if (sources.k8sDir) hash.update(`src:${sources.k8sDir}:${sources.fromSource.join(',')}\n`);
  return hash.digest('hex').slice(0, 12);
}

export function hasOverrides(sources: BinarySources): boolean {
  return Boolean(sources.binDir || sources.k8sDir || sources.downloads.length);
}

/** Downloads `url` to `dest` and verifies its SHA-1 or SHA-256; a mismatch names both sums. */
export async function downloadVerified(url: string, checksum: string, dest: string, setting: string, signal?: AbortSignal): Promise<void> {
  const algorithm = checksum.length === 40 ? 'sha1' : 'sha256';
  const hash = createHash(algorithm);
  let body: Buffer;
  if (url.startsWith('file://')) {
    body = readFileSync(new URL(url));
  } else {
    const res = await request(url, { method: 'GET', ...(signal ? { signal } : {}) });
    if (res.statusCode >= 300) {
      await res.body.dump();
      throw new LocalClusterError(`Downloading ${url} (${setting}) failed: HTTP ${res.statusCode}.`, { hint: `Check ${setting}.` });
    }
    body = Buffer.from(await res.body.arrayBuffer());
  }
  const actual = hash.update(body).digest('hex');
  if (actual !== checksum.toLowerCase()) {
    throw new ConfigError(
      `Checksum mismatch for ${url} (${setting}): expected ${algorithm} ${checksum.toLowerCase()}, got ${actual}.`,
      { setting, hint: `Fix the checksum setting next to ${setting}, or the URL.` },
    );
  }
  await writeFile(dest, body);
}

function run(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; signal: AbortSignal; log: (line: string) => void }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
    child.stdout.on('data', (d: Buffer) => options.log(d.toString()));
    child.stderr.on('data', (d: Buffer) => options.log(d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolvePromise() : reject(new LocalClusterError(`\`${argv.join(' ')}\` in ${options.cwd} exited with ${code}.`))));
  });
}

/** Extracts the named binaries from a .tar.gz (e.g. kubernetes-server-linux-amd64.tar.gz). */
async function extractBinaries(archive: string, names: readonly string[], destDir: string, ctx: ImageBuildContext): Promise<string[]> {
  const tmp = join(destDir, '.extract');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await run(['tar', '-xzf', archive, '-C', tmp], { cwd: tmp, signal: ctx.signal, log: ctx.logger.debug });
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (names.includes(entry.name) && !found.includes(entry.name)) {
        copyFileSync(path, join(destDir, entry.name));
        found.push(entry.name);
      }
    }
  };
  walk(tmp);
  rmSync(tmp, { recursive: true, force: true });
  return found;
}

/**
 * Puts every overriding binary into `<dir>/bin`, which the recipe copies over the
 * Go-module build: prebuilt ones, downloads (verified), and builds from a source tree.
 */
export async function stageOverrides(sources: BinarySources, dir: string, kubernetesVersion: string, ctx: ImageBuildContext): Promise<void> {
  const bin = join(dir, 'bin');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  if (sources.binDir) {
    for (const f of binDirFiles(sources.binDir)) copyFileSync(join(sources.binDir, f), join(bin, f));
    ctx.logger.info(`prebuilt binaries from ${sources.binDir}`);
  }
  for (const d of sources.downloads) {
    const single = d.binaries.length === 1;
    const target = single ? join(bin, d.binaries[0]!) : join(dir, basename(new URL(d.url).pathname) || 'download');
    ctx.logger.info(`downloading ${d.url}`);
    await downloadVerified(d.url, d.checksum, target, d.setting, ctx.signal);
    if (!single) {
      const got = await extractBinaries(target, d.binaries, bin, ctx);
      if (got.length === 0) throw new LocalClusterError(`${d.url} (${d.setting}) holds none of ${d.binaries.join(', ')}.`);
      rmSync(target);
    }
  }
  if (sources.k8sDir) {
    if (!existsSync(join(sources.k8sDir, 'go.mod'))) {
      throw new ConfigError(`source.k8sDir ${sources.k8sDir} is not a Kubernetes source tree (no go.mod).`, {
        setting: 'source.k8sDir',
        hint: 'Run from the Kubernetes source directory or set source.k8sDir (--k8s-dir).',
      });
    }
    const [major, minor] = kubernetesVersion.replace(/^v/, '').split('.');
    const ldflags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
      .flatMap((pkg) => [`-X ${pkg}.gitVersion=${kubernetesVersion}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=dirty`])
      .join(' ');
    for (const name of sources.fromSource) {
      ctx.logger.info(`building ${name} from ${sources.k8sDir}`);
      await run(['go', 'build', '-trimpath', `-ldflags=-s -w ${ldflags}`, '-o', join(bin, name), `./cmd/${name}`], {
        cwd: sources.k8sDir,
        env: { ...process.env, CGO_ENABLED: '0' },
        signal: ctx.signal,
        log: ctx.logger.debug,
      });
    }
  }
  for (const f of readdirSync(bin)) chmodSync(join(bin, f), 0o755);
}

