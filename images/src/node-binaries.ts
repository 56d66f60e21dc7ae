import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ensureGoBinaries, findGo, goToolchainFor, kubernetesProgram, kubernetesRelease, LocalClusterError, type GoBinary, type ImageBuildContext, type KubernetesRelease,
} from '@local-cluster/core';

// The node image's programs as image-factory recipes: every Go program goes through core's Go
// builder and its content-addressed binary cache (<cache>/images/go-bin/<key>/); this file only
// says what to build and lays the results out where the node image's shell stages read them.

const exec = promisify(execFile);

/** The Kubernetes programs of a node image, in build order. */
export const KUBERNETES_BINARIES = ['kubeadm', 'kubectl', 'kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver'] as const;

/** The versions one node image's programs are built at. */
export interface NodeVersions {
  kubernetes: string;
  etcd: string;
  coredns: string;
  pause: string;
  /** Stamped into the Kubernetes binaries when known (the module proxy does not say). */
  kubernetesGitCommit?: string;
}

/** `KEY=value` lines of a versions.env file (comments and quotes dropped). */
export function parseVersionsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^[ \t]*([A-Z_][A-Z0-9_]*)=["']?([^"'#\s]*)/gm)) out[m[1]!] = m[2]!;
  return out;
}

function versionsFile(path: string): Record<string, string> {
  return parseVersionsFile(readFileSync(path, 'utf8'));
}

/** Checks and normalises versions the way releases spell them (v-prefixed or not). */
export function normaliseVersions(v: NodeVersions): NodeVersions {
  const kubernetes = `v${v.kubernetes.replace(/^v/, '')}`;
  const etcd = v.etcd.replace(/^v/, '');
  const coredns = `v${v.coredns.replace(/^v/, '')}`;
  const pause = v.pause.replace(/^v/, '');
  const bad = (what: string, got: string, like: string) => new LocalClusterError(`${what} must look like ${like}, got '${got}'.`);
  kubernetesRelease(kubernetes);
  if (!/^3\.\d+\.\d+$/.test(etcd)) throw bad('The etcd version', etcd, '3.6.5');
  if (!/^v1\.\d+\.\d+$/.test(coredns)) throw bad('The CoreDNS version', coredns, 'v1.12.1');
  if (!/^\d[0-9A-Za-z.-]*$/.test(pause)) throw bad('The pause version', pause, '3.10.1');
  return { kubernetes, etcd, coredns, pause, ...(v.kubernetesGitCommit ? { kubernetesGitCommit: v.kubernetesGitCommit } : {}) };
}

/** The versions binaries/versions.env pins (the default release, its etcd, CoreDNS and pause). */
export function pinnedVersions(recipesDir: string): NodeVersions {
  const env = versionsFile(join(recipesDir, 'binaries', 'versions.env'));
  for (const key of ['KUBERNETES_VERSION', 'ETCD_VERSION', 'COREDNS_VERSION', 'PAUSE_VERSION']) {
    if (!env[key]) throw new LocalClusterError(`${join(recipesDir, 'binaries', 'versions.env')} pins no ${key}.`);
  }
  return normaliseVersions({
    kubernetes: env.KUBERNETES_VERSION!,
    etcd: env.ETCD_VERSION!,
    coredns: env.COREDNS_VERSION!,
    pause: env.PAUSE_VERSION!,
    ...(env.KUBERNETES_GIT_COMMIT ? { kubernetesGitCommit: env.KUBERNETES_GIT_COMMIT } : {}),
  });
}

/** The versions of another release: etcd, CoreDNS and pause as its kubeadm asks for them. */
export function releaseVersions(release: KubernetesRelease): NodeVersions {
  return normaliseVersions({ kubernetes: release.version, etcd: release.images.etcd, coredns: release.images.coredns, pause: release.images.pause });
}

/** containerd 2 and runc, pinned in containerd2/versions.env, for the node images of Kubernetes >= 1.36. */
export function containerd2Versions(recipesDir: string): { containerd: string; runc: string } {
  const env = versionsFile(join(recipesDir, 'containerd2', 'versions.env'));
  const containerd = `v${(env.CONTAINERD_VERSION ?? '').replace(/^v/, '')}`;
  const runc = `v${(env.RUNC_VERSION ?? '').replace(/^v/, '')}`;
  if (!/^v2\.\d+\.\d+$/.test(containerd)) throw new LocalClusterError(`CONTAINERD_VERSION must be a containerd 2 release such as v2.3.7, got '${containerd}'.`);
  if (!/^v1\.\d+\.\d+$/.test(runc)) throw new LocalClusterError(`RUNC_VERSION must look like v1.5.2, got '${runc}'.`);
  return { containerd, runc };
}

const withToolchain = (toolchain: string | undefined): Partial<GoBinary> => (toolchain ? { env: { GOTOOLCHAIN: toolchain } } : {});

/**
 * kubelet, kubeadm, kubectl and the control-plane programs, stamped like a release build:
 * gitVersion/gitMajor/gitMinor/gitTreeState (kubernetesProgram), buildDate = the release's
 * commit time (so identical inputs give identical binaries), gitCommit when known.
 */
export function kubernetesBinaries(version: string, options: { buildDate: string; gitCommit?: string; toolchain?: string }): GoBinary[] {
  const ldflags: string[] = [];
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    // gitCommit empty unless known (the source's default is an unexpanded `$Format:%H$`)
    ldflags.push(`-X ${p}.buildDate=${options.buildDate}`, `-X ${p}.gitCommit=${options.gitCommit ?? ''}`);
  }
  return KUBERNETES_BINARIES.map((name) => kubernetesProgram(version, `cmd/${name}`, name, { ldflags, ...withToolchain(options.toolchain) }));
}

/**
 * The etcd server, and etcdctl and etcdutl when `tools` (neither kubeadm nor the kubelet runs
 * them, and some proxies do not serve every etcdutl release, which etcdctl v3.5 imports). Each
 * is built as its own main module; their `replace`s into sibling directories of the etcd
 * repository become the same modules at this version.
 */
export function etcdBinaries(version: string, options: { tools: boolean; toolchain?: string }): GoBinary[] {
  const v = `v${version.replace(/^v/, '')}`;
  const one = (module: string, binary: string): GoBinary => ({ module: `go.etcd.io/etcd/${module}/v3`, version: v, binary, inTreeReplacesAt: v, ...withToolchain(options.toolchain) });
  return [one('server', 'etcd'), ...(options.tools ? [one('etcdctl', 'etcdctl'), one('etcdutl', 'etcdutl')] : [])];
}

export function corednsBinary(version: string, options: { toolchain?: string } = {}): GoBinary {
  return { module: 'github.com/coredns/coredns', version, binary: 'coredns', ...withToolchain(options.toolchain) };
}

/**
 * containerd, its runc shim and ctr, CGO off. The shim carries no gRPC server (upstream's
 * SHIM_CGO_ENABLED=0 + no_grpc); btrfs, devmapper and zfs need cgo and are left out.
 */
export function containerdBinaries(version: string, options: { toolchain?: string } = {}): GoBinary[] {
  const module = 'github.com/containerd/containerd/v2';
  const ldflags = [`-X ${module}/version.Version=${version}`, `-X ${module}/version.Revision=module-${version}`];
  const one = (name: string, tags: string[]): GoBinary => ({ module, version, package: `cmd/${name}`, binary: name, tags, ldflags, ...withToolchain(options.toolchain) });
  return [
    one('containerd-shim-runc-v2', ['urfave_cli_no_docs', 'no_grpc', 'osusergo', 'netgo']),
    one('containerd', ['urfave_cli_no_docs', 'no_btrfs', 'no_devmapper', 'no_zfs', 'osusergo', 'netgo']),
    one('ctr', ['urfave_cli_no_docs', 'osusergo', 'netgo']),
  ];
}

/** Where an unpacked libseccomp-dev is: `root` holds usr/include/seccomp.h, `lib` libseccomp.a and pkgconfig/. */
export interface Libseccomp {
  version: string;
  root: string;
  lib: string;
}

/**
 * runc: cgo (its nsenter is C) with seccomp, a static PIE linked against libseccomp-dev's
 * static library. libpathrs (upstream's default tag) is a Rust library Debian bookworm lacks:
 * left out. The library's directory carries its Debian version and is named in the C flags,
 * which are part of Go's build cache keys: a cached cgo package never links a library that is gone.
 */
export function runcBinary(version: string, seccomp: Libseccomp, options: { toolchain?: string } = {}): GoBinary {
  return {
    module: 'github.com/opencontainers/runc',
    version,
    binary: 'runc',
    cgo: true,
    buildmode: 'pie',
    extldflags: '-static-pie',
    tags: ['seccomp', 'urfave_cli_no_docs', 'netgo', 'osusergo'],
    ldflags: [`-X main.gitCommit=module-${version}`, '-linkmode external'],
    env: {
      ...(options.toolchain ? { GOTOOLCHAIN: options.toolchain } : {}),
      CGO_CFLAGS: `-I${join(seccomp.root, 'usr', 'include')}`,
      CGO_LDFLAGS: `-L${seccomp.lib}`,
      PKG_CONFIG_PATH: join(seccomp.lib, 'pkgconfig'),
      PKG_CONFIG_SYSROOT_DIR: seccomp.root,
    },
  };
}

/**
 * What the node image's recipe is, as data, for its content address: the Go recipes at the
 * release's versions, with what is only known at build time (commit time, GOTOOLCHAIN, whether
 * the proxy serves etcdutl, libseccomp's Debian version) left symbolic.
 */
export function nodeBinaryRecipes(versions: NodeVersions | { kubernetes: string }, containerd?: { containerd: string; runc: string }): GoBinary[] {
  const full = 'etcd' in versions ? versions : undefined;
  const recipes = [
    ...kubernetesBinaries(versions.kubernetes, { buildDate: '<release time>', ...(full?.kubernetesGitCommit ? { gitCommit: full.kubernetesGitCommit } : {}) }),
    ...etcdBinaries(full?.etcd ?? '3.0.0', { tools: true }),
    corednsBinary(full?.coredns ?? 'v1.0.0'),
  ];
  if (containerd) recipes.push(...containerdBinaries(containerd.containerd), runcBinary(containerd.runc, { version: '<candidate>', root: '<root>', lib: '<lib>' }));
  return recipes;
}

// --- module metadata -------------------------------------------------------------------------

interface ModuleDownload {
  Dir?: string;
  Info?: string;
  GoMod?: string;
  Error?: string;
}

/** `go mod download -json module@version` (module metadata through the machine's GOPROXY); never throws. */
async function downloadModule(module: string, version: string, cwd: string, signal: AbortSignal): Promise<ModuleDownload> {
  const go = findGo();
  if (!go) return { Error: 'no Go toolchain found' };
  try {
    const { stdout } = await exec(go, ['mod', 'download', '-json', `${module}@${version}`], {
      cwd,
      env: { ...process.env, GOWORK: 'off', GOFLAGS: '-mod=mod' },
      maxBuffer: 16 << 20,
      signal,
    });
    return JSON.parse(stdout) as ModuleDownload;
  } catch (error) {
    if (signal.aborted) throw error;
    const stdout = (error as { stdout?: string }).stdout;
    try {
      return stdout ? (JSON.parse(stdout) as ModuleDownload) : { Error: (error as Error).message };
    } catch {
      return { Error: (error as Error).message };
    }
  }
}

/** The commit time of a module version (its .info `Time`), e.g. 2025-11-11T19:10:34Z. */
export function moduleTime(infoJson: string): string | undefined {
  try {
    return (JSON.parse(infoJson) as { Time?: string }).Time || undefined;
  } catch {
    return undefined;
  }
}

let localGo: Promise<string> | undefined;
function localGoVersion(): Promise<string> {
  const go = findGo();
  localGo ??= go ? exec(go, ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' } }).then((r) => r.stdout.trim(), () => 'go0.0.0') : Promise.resolve('go0.0.0');
  return localGo;
}

/** GOTOOLCHAIN for a module whose go.mod needs a newer Go than the local one (undefined: local is enough). */
async function toolchainForModule(module: string, version: string, cwd: string, signal: AbortSignal): Promise<string | undefined> {
  const dl = await downloadModule(module, version, cwd, signal);
  if (!dl.GoMod || !existsSync(dl.GoMod)) throw new LocalClusterError(`The Go module proxy did not serve ${module}@${version}: ${dl.Error ?? 'no go.mod'}`, { hint: "Check the machine's GOPROXY." });
  return goToolchainFor(await readFile(dl.GoMod, 'utf8'), await localGoVersion());
}

// --- laying the binaries out ------------------------------------------------------------------

/** Puts `from` at `to` (a hard link into the binary cache when on one filesystem, else a copy), replacing atomically. */
async function place(from: string, to: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(from), stat(to).catch(() => undefined)]);
  if (b && a.ino === b.ino && a.dev === b.dev) return false;
  const tmp = `${to}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await link(from, tmp).catch(() => copyFile(from, tmp));
  await chmod(tmp, 0o755);
  await rename(tmp, to);
  return true;
}

async function writeIfChanged(path: string, content: string): Promise<boolean> {
  if (existsSync(path) && (await readFile(path, 'utf8')) === content) return false;
  await writeFile(`${path}.${process.pid}.tmp`, content);
  await rename(`${path}.${process.pid}.tmp`, path);
  return true;
}

/** Makes `<dir>/bin` hold exactly `paths` (by name); returns whether anything changed. */
async function layOut(dir: string, paths: Record<string, string>): Promise<boolean> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  let changed = false;
  for (const [name, path] of Object.entries(paths)) changed = (await place(path, join(bin, name))) || changed;
  for (const name of await readdir(bin)) {
    if (!(name in paths)) {
      await rm(join(bin, name), { force: true });
      changed = true;
    }
  }
  // what the shell builders left: their stamps, generated wrapper modules and log
  for (const old of ['.stamps', '.src', '.lock', 'build.log']) await rm(join(dir, old), { recursive: true, force: true });
  return changed;
}

async function sha256sums(bin: string, names: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const name of [...names].sort()) lines.push(`${createHash('sha256').update(await readFile(join(bin, name))).digest('hex')}  ${name}`);
  return lines.join('\n') + '\n';
}

function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

// --- pause (C, not Go) ------------------------------------------------------------------------

/**
 * pause from pause/pause.c with `gcc -static` (0.7 MB): a C program, so not a Go recipe; cached
 * by the source, its version and the compiler under <cache>/node-image/pause/<key>/.
 */
async function ensurePause(version: string, recipesDir: string, ctx: ImageBuildContext): Promise<string> {
  const cc = process.env.CC || 'gcc';
  const source = join(recipesDir, 'binaries', 'pause', 'pause.c');
  const compiler = await exec(cc, ['--version']).then((r) => r.stdout.split('\n')[0]!, () => undefined);
  if (!compiler) throw new LocalClusterError(`Building pause needs a C compiler (${cc}), and none was found.`, { hint: 'Install gcc (apt-get install gcc), or set CC.' });
  const key = createHash('sha256').update(`${version}\0${compiler}\0${hostArch()}\0`).update(readFileSync(source)).digest('hex').slice(0, 16);
  const out = join(ctx.cacheDir, 'node-image', 'pause', key, 'pause');
  if (existsSync(out)) return out;
  await mkdir(join(out, '..'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  ctx.logger.info(`building pause ${version} (pause/pause.c, ${cc} -static)`);
  try {
    await exec(cc, ['-Os', '-static', '-s', '-Wall', '-Werror', `-DVERSION="${version}"`, '-o', tmp, source], { signal: ctx.signal });
  } catch (error) {
    await rm(tmp, { force: true });
    const why = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').slice(-3).join(' ');
    throw new LocalClusterError(`The static C build of pause failed: ${why}`, { hint: 'A static build needs the C library\'s static archive (libc6-dev).' });
  }
  await rename(tmp, out);
  return out;
}

// --- the node image's binaries ------------------------------------------------------------------

/** Where a release's binaries are laid out: bin/*, versions.env, kubeadm-images.txt, SHA256SUMS. */
export function nodeBinariesDir(cacheDir: string, version: string): string {
  return join(cacheDir, 'node-image', 'binaries', version);
}

/** `kubeadm config images list` lines that differ from the pinned etcd, CoreDNS and pause versions. */
export function kubeadmMismatches(imagesList: string, versions: NodeVersions): string[] {
  const lines = imagesList.split('\n').filter(Boolean);
  const expected = (name: string) => lines.find((l) => l.includes(`/${name}:`)) ?? `no ${name} image`;
  const out: string[] = [];
  if (!lines.some((l) => l.includes(`/etcd:${versions.etcd}-`))) out.push(`kubeadm ${versions.kubernetes} expects ${expected('etcd')}, etcd is ${versions.etcd}`);
  if (!lines.some((l) => l.endsWith(`/coredns:${versions.coredns}`))) out.push(`kubeadm ${versions.kubernetes} expects ${expected('coredns')}, CoreDNS is ${versions.coredns}`);
  if (!lines.some((l) => l.endsWith(`/pause:${versions.pause}`))) out.push(`kubeadm ${versions.kubernetes} expects ${expected('pause')}, pause is ${versions.pause}`);
  return out;
}

/**
 * Builds (or finds in the binary cache) every program of a release's node image and lays them
 * out in nodeBinariesDir: bin/<name> (hard links into the cache), versions.env,
 * kubeadm-images.txt (`kubeadm config images list`), SHA256SUMS. Warns when the etcd, CoreDNS
 * or pause version differs from what its kubeadm asks for.
 */
export async function ensureNodeBinaries(
  versions: NodeVersions,
  options: { recipesDir: string; toolchain?: string },
  ctx: ImageBuildContext,
): Promise<{ dir: string; paths: Record<string, string> }> {
  const dir = nodeBinariesDir(ctx.cacheDir, versions.kubernetes);
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  const [k8s, etcdutl] = await Promise.all([
    downloadModule('k8s.io/kubernetes', versions.kubernetes, dir, ctx.signal),
    downloadModule('go.etcd.io/etcd/etcdutl/v3', `v${versions.etcd}`, dir, ctx.signal),
  ]);
  if (!k8s.Info || !existsSync(k8s.Info)) {
    throw new LocalClusterError(`The Go module proxy did not serve k8s.io/kubernetes@${versions.kubernetes}: ${k8s.Error ?? 'no .info'}`, { hint: "Check the version and the machine's GOPROXY." });
  }
  const buildDate = moduleTime(await readFile(k8s.Info, 'utf8')) ?? '1970-01-01T00:00:00Z';
  const tools = Boolean(etcdutl.Dir);
  if (!tools) ctx.logger.warn(`etcd: the Go module proxy does not serve go.etcd.io/etcd/etcdutl/v3@v${versions.etcd}; the etcd image gets the etcd server only (no etcdctl, etcdutl)`);
  const toolchain = options.toolchain;
  const recipes = [
    ...kubernetesBinaries(versions.kubernetes, { buildDate, ...(versions.kubernetesGitCommit ? { gitCommit: versions.kubernetesGitCommit } : {}), ...(toolchain ? { toolchain } : {}) }),
    ...etcdBinaries(versions.etcd, { tools, ...(toolchain ? { toolchain } : {}) }),
    corednsBinary(versions.coredns, toolchain ? { toolchain } : {}),
  ];
  const paths = await ensureGoBinaries(`node-binaries-${versions.kubernetes}`, recipes, {
    cacheDir: join(ctx.cacheDir, 'images'),
    logger: ctx.logger,
    signal: ctx.signal,
    neededBy: `the node image of Kubernetes ${versions.kubernetes}`,
  });
  paths.pause = await ensurePause(versions.pause, options.recipesDir, ctx);

  const changed = await layOut(dir, paths);
  const bin = join(dir, 'bin');
  const env = `KUBERNETES_VERSION=${versions.kubernetes}\nETCD_VERSION=${versions.etcd}\nCOREDNS_VERSION=${versions.coredns}\nPAUSE_VERSION=${versions.pause}\nGOARCH=${hostArch()}\n`;
  await writeIfChanged(join(dir, 'versions.env'), env);
  if (changed || !existsSync(join(dir, 'SHA256SUMS'))) await writeIfChanged(join(dir, 'SHA256SUMS'), await sha256sums(bin, Object.keys(paths)));
  const imagesTxt = join(dir, 'kubeadm-images.txt');
  if (changed || !existsSync(imagesTxt) || (await stat(imagesTxt)).size === 0) {
    try {
      const listed = await exec(join(bin, 'kubeadm'), ['config', 'images', 'list', '--kubernetes-version', versions.kubernetes], { signal: ctx.signal });
      await writeIfChanged(imagesTxt, listed.stdout);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      ctx.logger.warn(`kubeadm config images list failed: ${((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`);
    }
  }
  if (existsSync(imagesTxt)) for (const warning of kubeadmMismatches(await readFile(imagesTxt, 'utf8'), versions)) ctx.logger.warn(warning);
  ctx.logger.info(`Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, CoreDNS ${versions.coredns}, pause ${versions.pause}: ${Object.keys(paths).length} binaries in ${join(dir, 'bin')} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
  return { dir, paths: Object.fromEntries(Object.keys(paths).map((name) => [name, join(bin, name)])) };
}

// --- containerd 2 and runc --------------------------------------------------------------------

/**
 * libseccomp-dev for runc's static link, fetched with the machine's own apt configuration
 * (`apt-get download`) and unpacked with `dpkg -x`: nothing is installed on this machine.
 * Kept under <dir>/libseccomp-<version>/ (the Debian version names the directory).
 */
async function ensureLibseccomp(dir: string, ctx: ImageBuildContext): Promise<Libseccomp> {
  const candidate = async () =>
    /Candidate:\s*(\S+)/.exec((await exec('apt-cache', ['policy', 'libseccomp-dev'], { signal: ctx.signal }).catch(() => ({ stdout: '' }))).stdout)?.[1];
  let version = await candidate();
  if (!version || version === '(none)') {
    // a fresh machine may have no apt lists yet (as the image factory does: update once)
    ctx.logger.info('apt lists know no libseccomp-dev: apt-get update');
    await exec('apt-get', ['update', '-qq'], { signal: ctx.signal }).catch((error: Error) => ctx.logger.warn(`apt-get update failed: ${error.message}`));
    version = await candidate();
  }
  if (!version || version === '(none)') {
    throw new LocalClusterError('apt knows no libseccomp-dev, which runc links statically.', { hint: "Check the machine's apt sources and run apt-get update." });
  }
  const debs = join(dir, `libseccomp-${version}`);
  const root = join(debs, 'root');
  if (!existsSync(join(debs, '.done'))) {
    ctx.logger.info(`libseccomp-dev ${version} (apt-get download, unpacked, not installed)`);
    await rm(debs, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    try {
      await exec('apt-get', ['download', `libseccomp-dev=${version}`], { cwd: debs, signal: ctx.signal });
      const deb = (await readdir(debs)).find((f) => f.startsWith('libseccomp-dev_') && f.endsWith('.deb'));
      if (!deb) throw new Error('apt-get download left no .deb');
      await exec('dpkg', ['-x', join(debs, deb), root], { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw new LocalClusterError(`Fetching libseccomp-dev ${version} failed: ${((error as { stderr?: string }).stderr || (error as Error).message).trim()}`, {
        hint: 'runc needs libseccomp\'s static library: apt-get and dpkg (Debian) with working apt sources.',
      });
    }
    await writeFile(join(debs, '.done'), '');
  }
  const multiarch = (await readdir(join(root, 'usr', 'lib')).catch(() => [])).find((d) => existsSync(join(root, 'usr', 'lib', d, 'libseccomp.a')));
  const lib = multiarch ? join(root, 'usr', 'lib', multiarch) : join(root, 'usr', 'lib');
  if (!existsSync(join(lib, 'libseccomp.a')) || !existsSync(join(root, 'usr', 'include', 'seccomp.h'))) {
    throw new LocalClusterError(`libseccomp-dev ${version} has no libseccomp.a or seccomp.h (${debs}).`);
  }
  return { version, root, lib };
}

/** Where containerd 2 and runc are laid out: bin/*, versions.env. */
export function containerd2Dir(cacheDir: string): string {
  return join(cacheDir, 'node-image', 'containerd2');
}

/**
 * containerd 2 (containerd, containerd-shim-runc-v2, ctr) and runc for the node images of
 * Kubernetes >= 1.36, through the binary cache; each module gets GOTOOLCHAIN when its go.mod
 * needs a newer Go than the local one. Laid out in containerd2Dir, checked to run.
 */
export async function ensureContainerd2(options: { recipesDir: string }, ctx: ImageBuildContext): Promise<{ dir: string; versions: { containerd: string; runc: string } }> {
  const versions = containerd2Versions(options.recipesDir);
  const dir = containerd2Dir(ctx.cacheDir);
  await mkdir(dir, { recursive: true });
  const [containerdToolchain, runcToolchain, seccomp] = await Promise.all([
    toolchainForModule('github.com/containerd/containerd/v2', versions.containerd, dir, ctx.signal),
    toolchainForModule('github.com/opencontainers/runc', versions.runc, dir, ctx.signal),
    ensureLibseccomp(dir, ctx),
  ]);
  for (const [what, tc] of [[`containerd ${versions.containerd}`, containerdToolchain], [`runc ${versions.runc}`, runcToolchain]] as const) {
    if (tc) ctx.logger.info(`${what} needs ${tc} (local ${await localGoVersion()}): GOTOOLCHAIN=${tc}`);
  }
  const recipes = [
    ...containerdBinaries(versions.containerd, containerdToolchain ? { toolchain: containerdToolchain } : {}),
    runcBinary(versions.runc, seccomp, runcToolchain ? { toolchain: runcToolchain } : {}),
  ];
  const paths = await ensureGoBinaries(`containerd-${versions.containerd}-runc-${versions.runc}`, recipes, {
    cacheDir: join(ctx.cacheDir, 'images'),
    logger: ctx.logger,
    signal: ctx.signal,
    neededBy: 'the node images of Kubernetes >= 1.36',
  });
  await layOut(dir, paths);
  // keep the unpacked libseccomp-dev (named in runc's cached cgo flags), only the current one
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('libseccomp-') && entry !== `libseccomp-${seccomp.version}`) await rm(join(dir, entry), { recursive: true, force: true });
  }
  await writeIfChanged(join(dir, 'versions.env'), `CONTAINERD_VERSION=${versions.containerd}\nRUNC_VERSION=${versions.runc}\nGOARCH=${hostArch()}\n`);
  for (const name of ['containerd', 'runc']) {
    await exec(join(dir, 'bin', name), ['--version'], { signal: ctx.signal }).catch((error: Error) => {
      throw new LocalClusterError(`The built ${name} does not run: ${error.message}`);
    });
  }
  return { dir, versions };
}
