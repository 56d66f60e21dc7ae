import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  AbortedError, canonicalJson, IPTABLES_WRAPPER, LocalClusterError, NODE_CONTRACT, resolveKubernetesRelease, withWaitingLock,
  type ImageBuildContext, type LockHolder, type ImageRequirement, type KubernetesRelease, type Logger, type ResolvedConfig,
} from '@local-cluster/core';
import { containerd2Versions, ensureContainerd2, ensureNodeBinaries, nodeBinaryRecipes, pinnedVersions, releaseVersions, type NodeVersions } from './node-binaries.js';
import { binarySources, hasOverrides, OVERRIDABLE, sourcesKey, stageOverrides, type BinarySources } from './sources.js';

export * from './sources.js';
export {
  containerd2Dir, containerd2Versions, containerdBinaries, corednsBinary, ensureContainerd2, ensureNodeBinaries, etcdBinaries, KUBERNETES_BINARIES,
  kubeadmMismatches, kubernetesBinaries, type Libseccomp, moduleTime, nodeBinariesDir, nodeBinaryRecipes, type NodeVersions, normaliseVersions,
  parseVersionsFile, pinnedVersions, releaseVersions, runcBinary,
} from './node-binaries.js';

/** Where the recipes live: next to this package's dist/. */
export const RECIPES_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Recipe files whose content decides the node image (docs excluded). */
function recipeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.') || /\.md$/i.test(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...recipeFiles(path));
    else out.push(path);
  }
  return out.sort();
}

/** The Kubernetes version binaries/versions.env pins: its node image is built by build-node-image.sh. */
export function defaultKubernetesVersion(recipesDir = RECIPES_DIR): string {
  const m = /^KUBERNETES_VERSION=(\S+)/m.exec(readFileSync(join(recipesDir, 'binaries', 'versions.env'), 'utf8'));
  if (!m) throw new LocalClusterError(`${join(recipesDir, 'binaries', 'versions.env')} pins no KUBERNETES_VERSION.`);
  return m[1]!;
}

/**
 * Whether this release is built by release/build-node-image.sh (every release but the
 * default one): etcd, CoreDNS and pause from its kubeadm, containerd 2 from v1.36.
 */
export function isOtherRelease(kubernetesVersion: string, recipesDir = RECIPES_DIR): boolean {
  return kubernetesVersion !== defaultKubernetesVersion(recipesDir);
}

/**
 * Hash of every recipe file, the Go recipes of its programs (node-binaries.ts) and the
 * Kubernetes version: the node image's tag. The default release's image hashes exactly
 * build-node-image.sh, binaries/, node/ and its programs' recipes; other releases add
 * release/, containerd2/ and the containerd and runc recipes, so changes there never rebuild
 * the default image.
 */
export function nodeImageHash(kubernetesVersion: string, recipesDir = RECIPES_DIR): string {
  // the kube-proxy image carries core's iptables wrapper
  const hash = createHash('sha256').update(kubernetesVersion).update('\0').update(IPTABLES_WRAPPER);
  const files = [join(recipesDir, 'build-node-image.sh'), ...recipeFiles(join(recipesDir, 'binaries')), ...recipeFiles(join(recipesDir, 'node'))];
  const other = isOtherRelease(kubernetesVersion, recipesDir);
  if (other) files.push(...recipeFiles(join(recipesDir, 'release')), ...recipeFiles(join(recipesDir, 'containerd2')));
  for (const file of files) hash.update(relative(recipesDir, file)).update('\0').update(readFileSync(file));
  // the programs' recipes; another release's etcd, CoreDNS and pause versions follow from its version
  const recipes = other ? nodeBinaryRecipes({ kubernetes: kubernetesVersion }, containerd2Versions(recipesDir)) : nodeBinaryRecipes(pinnedVersions(recipesDir));
  hash.update('go\0').update(canonicalJson(recipes));
  return hash.digest('hex').slice(0, 12);
}

export function nodeImageRef(kubernetesVersion: string, recipesDir = RECIPES_DIR): string {
  return `local-cluster/node:${kubernetesVersion}-${nodeImageHash(kubernetesVersion, recipesDir)}`;
}

/** The environment the binaries of another release build with (etcd/CoreDNS/pause versions, GOTOOLCHAIN). */
export function releaseEnv(release: KubernetesRelease): Record<string, string> {
  return {
    KUBERNETES_VERSION: release.version,
    ETCD_VERSION: release.images.etcd,
    COREDNS_VERSION: release.images.coredns,
    PAUSE_VERSION: release.images.pause,
    CONTAINERD_MAJOR: String(release.containerd),
    ...(release.toolchain ? { GOTOOLCHAIN: release.toolchain } : {}),
  };
}

/**
 * Runs the offline build; streams its lines as progress and keeps the whole log. One node image
 * build at a time on this machine: builds of two versions share the root filesystem, the preload
 * sets and the work directory under the cache, so a second one waits for the first.
 */
function buildNodeImage(ref: string, kubernetesVersion: string, sources: BinarySources, ctx: ImageBuildContext, recipesDir: string): Promise<void> {
  const lock = join(ctx.cacheDir, 'locks', 'node-image-build.lock');
  const onWait = (holder: LockHolder) => ctx.logger.info(`${ref}: waiting for \`${holder.command}\` (pid ${holder.pid}): one node image build at a time`);
  return withWaitingLock(lock, `build of ${ref}`, { signal: ctx.signal, onWait }, () => buildNodeImageLocked(ref, kubernetesVersion, sources, ctx, recipesDir));
}

/** A logger that also writes each line into the build log. */
function teeLogger(logger: Logger, log: NodeJS.WritableStream): Logger {
  return {
    info: (m) => (log.write(`${m}\n`), logger.info(m)),
    warn: (m) => (log.write(`warning: ${m}\n`), logger.warn(m)),
    debug: (m) => (log.write(`${m}\n`), logger.debug(m)),
  };
}

/** The versions and GOTOOLCHAIN a release's programs build with. */
async function versionsOf(kubernetesVersion: string, recipesDir: string, signal: AbortSignal): Promise<{ versions: NodeVersions; release?: KubernetesRelease }> {
  if (!isOtherRelease(kubernetesVersion, recipesDir)) return { versions: pinnedVersions(recipesDir) };
  const release = await resolveKubernetesRelease(kubernetesVersion, { signal });
  return { versions: releaseVersions(release), release };
}

async function buildNodeImageLocked(ref: string, kubernetesVersion: string, sources: BinarySources, ctx: ImageBuildContext, recipesDir: string): Promise<void> {
  let overrides: string | undefined;
  if (hasOverrides(sources)) {
    overrides = join(ctx.cacheDir, 'overrides', sourcesKey(sources));
    await stageOverrides(sources, overrides, kubernetesVersion, ctx);
  }
  const logDir = join(ctx.cacheDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logPath = join(logDir, `node-image-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const log = createWriteStream(logPath);
  ctx.logger.info(`build log: ${logPath}`);
  const wrapper = join(ctx.cacheDir, 'node-image', 'iptables-wrapper');
  await mkdir(dirname(wrapper), { recursive: true });
  await writeFile(wrapper, IPTABLES_WRAPPER, { mode: 0o755 });
  const logger = teeLogger(ctx.logger, log);
  const bctx = { ...ctx, logger };
  let script = join(recipesDir, 'build-node-image.sh');
  let env: NodeJS.ProcessEnv = { ...process.env };
  const { versions, release } = await versionsOf(kubernetesVersion, recipesDir, ctx.signal);
  if (release) {
    script = join(recipesDir, 'release', 'build-node-image.sh');
    env = { ...process.env, ...releaseEnv(release) };
    logger.info(
      `Kubernetes ${kubernetesVersion}: etcd ${release.images.etcd}, CoreDNS ${release.images.coredns}, pause ${release.images.pause} (from its kubeadm); ` +
        `go ${release.go ?? '?'} -> ${release.toolchain ? `GOTOOLCHAIN=${release.toolchain}` : `local ${release.localGo}`}; containerd ${release.containerd === 2 ? '2 built from Go modules' : "1.6 (Debian's)"}`,
    );
  }
  const started = performance.now();
  try {
    logger.info(`Kubernetes ${kubernetesVersion} programs through the image factory's Go builder`);
    env.BINARIES_DIR = (await ensureNodeBinaries(versions, { recipesDir, ...(release?.toolchain ? { toolchain: release.toolchain } : {}) }, bctx)).dir;
    if (release?.containerd === 2) {
      logger.info("containerd 2 and runc through the image factory's Go builder");
      env.CONTAINERD2_DIR = (await ensureContainerd2({ recipesDir }, bctx)).dir;
    }
  } catch (error) {
    log.end(`!! ${(error as Error).message}\n`);
    throw error;
  }
  logger.info(`programs ready in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  const child = spawn('bash', [script, join(ctx.cacheDir, 'node-image'), ref], {
    env: { ...env, IPTABLES_WRAPPER: wrapper, ...(overrides ? { BIN_OVERRIDES: overrides } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const onAbort = () => {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const lines = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (line) => {
      log.write(line + '\n');
      if (/^==>|^\[\s*\d+s\]/.test(line)) ctx.logger.info(line.replace(/^==>\s*/, ''));
      else ctx.logger.debug(line);
    });
  lines(child.stdout!);
  lines(child.stderr!);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  ctx.signal.removeEventListener('abort', onAbort);
  log.end();
  if (ctx.signal.aborted) throw new AbortedError('node image build');
  if (code !== 0) {
    throw new LocalClusterError(`Building the node image ${ref} failed (exit code ${code}).`, { hint: `See the build log: ${logPath}` });
  }
}

export interface NodeImageOptions {
  /** Directory holding build-node-image.sh, binaries/ and node/. */
  recipesDir?: string;
  /** Directory relative source paths (binDir, k8sDir) resolve from. Default: cwd. */
  baseDir?: string;
}

/** The node image for this config and how to build it offline. */
export function nodeImage(config: ResolvedConfig, options: NodeImageOptions = {}): ImageRequirement {
  const recipesDir = options.recipesDir ?? RECIPES_DIR;
  const version = config.source.kubernetesVersion;
  const sources = binarySources(config, options.baseDir);
  const base = nodeImageRef(version, recipesDir);
  // other binary sources make another image, tagged by what they provide
  const ref = hasOverrides(sources) ? `${base}-${sourcesKey(sources)}` : base;
  return {
    ref,
    build: (ctx) => buildNodeImage(ref, version, sources, ctx, recipesDir),
    binaries: (ctx) => nodeBinaries(version, sources, ctx, recipesDir),
  };
}

/**
 * The Kubernetes binaries the node image is made of, on this machine: the Go-module build
 * (content-addressed: instant when the node image was built here) with the configured
 * prebuilt, downloaded or source-built overrides on top.
 */
async function nodeBinaries(version: string, sources: BinarySources, ctx: ImageBuildContext, recipesDir: string): Promise<Record<string, string>> {
  // the same versions and GOTOOLCHAIN as the node image build, so the binary cache answers
  const { versions, release } = await versionsOf(version, recipesDir, ctx.signal);
  const { dir } = await ensureNodeBinaries(versions, { recipesDir, ...(release?.toolchain ? { toolchain: release.toolchain } : {}) }, ctx);
  const paths: Record<string, string> = Object.fromEntries(OVERRIDABLE.map((name) => [name, join(dir, 'bin', name)]));
  if (hasOverrides(sources)) {
    const overrides = join(ctx.cacheDir, 'overrides', sourcesKey(sources));
    if (!existsSync(join(overrides, 'bin'))) await stageOverrides(sources, overrides, version, ctx);
    for (const name of readdirSync(join(overrides, 'bin'))) paths[name] = join(overrides, 'bin', name);
  }
  return paths;
}

/**
 * A small image preloaded on every node for checks and debugging: busybox
 * (sh, httpd, wget, nslookup, nc) from Debian's busybox-static. Pods use it
 * with imagePullPolicy Never.
 */
export const TOOLBOX_IMAGE = NODE_CONTRACT.toolboxImage;
