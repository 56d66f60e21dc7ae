import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageRequirement, Logger } from '../contracts/context.js';
import type { Driver, ImageInfo, NodeHandle } from '../contracts/driver.js';
import { LABELS } from '../contracts/driver.js';
import { NODE_CONTRACT } from '../contracts/node.js';
import { writeNodeFile } from '../nodeutil.js';
import type { GoBinary, ImageRecipe } from '../contracts/image.js';
import { AbortedError, ImageBuildError, LocalClusterError, throwIfAborted } from '../errors.js';
import { runCommand } from './command.js';
import { debianClosure, downloadDebs, unpackDebs } from './debian.js';
import { buildGoBinary, findGo, SourceTrees } from './go.js';
import { archiveManifest, baseFiles, DEBIAN_PRUNE, imageConfig, MERGED_USR_LINKS } from './layout.js';
import { goBinaryProblems, recipeHash, recipeProblems, type Toolchain } from './recipe.js';
import { BuildSession } from './session.js';
import { withWaitingLock, type LockHolder } from '../lock-file.js';

export interface ImageFactoryOptions {
  driver: Driver;
  /** Where builds keep their caches (Go binaries, .deb files, work directories). */
  cacheDir: string;
  /** Where build logs go. Default: <cacheDir>/../logs. */
  logDir?: string;
  logger: Logger;
  signal: AbortSignal;
}

/** Where an image stands on the engine. */
export type ImageState =
  /** Built by the factory from the current recipe. */
  | 'built'
  /** In the engine from elsewhere (pulled, loaded): used as is, never rebuilt. */
  | 'external'
  /** Built by the factory from another recipe: rebuilt on the next `up`. */
  | 'stale'
  /** Not in the engine; the factory can build it. */
  | 'missing'
  /** Not in the engine and nothing can build it. */
  | 'unavailable';

export interface ImageStatus {
  ref: string;
  state: ImageState;
  /** The recipe's content address (factory-built images). */
  hash?: string;
  /** Bytes, when in the engine. */
  size?: number;
  /** What needs it, e.g. `CNI plugin "flannel"`. */
  neededBy?: string;
  /** recipe, custom (a build function) or none. */
  build: 'recipe' | 'custom' | 'none';
}

/** An image requirement and who declared it. */
export interface NeededImage {
  image: ImageRequirement;
  neededBy: string;
}

const exec = promisify(execFile);

function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

let goVersion: Promise<string> | undefined;
let ccVersion: Promise<string> | undefined;
/** The toolchain a recipe builds with; asks Go for its version once per process. */
export async function toolchainFor(recipe: ImageRecipe): Promise<Toolchain> {
  if (!recipe.go?.length) return { go: '', arch: hostArch() };
  const go = findGo();
  goVersion ??= go ? exec(go, ['env', 'GOVERSION']).then((r) => r.stdout.trim(), () => 'unknown') : Promise.resolve('none');
  if (!recipe.go.some((b) => b.cgo)) return { go: await goVersion, arch: hostArch() };
  // cgo builds also depend on the C compiler (the one `go env CC` names)
  ccVersion ??= (go ? exec(go, ['env', 'CC']).then((r) => r.stdout.trim() || 'gcc', () => 'gcc') : Promise.resolve(process.env.CC ?? 'gcc')).then((cc) =>
    exec(cc, ['--version']).then((r) => r.stdout.split('\n')[0]!.trim(), () => 'none'),
  );
  return { go: await goVersion, arch: hostArch(), cc: await ccVersion };
}

/** Where the image stands, and what the engine holds under its name (one inspect). */
async function inspectStatus(driver: Driver, needed: NeededImage, signal?: AbortSignal): Promise<{ status: ImageStatus; info: ImageInfo | undefined }> {
  const { image, neededBy } = needed;
  const build = image.recipe ? 'recipe' : image.build ? 'custom' : 'none';
  const hash = image.recipe ? recipeHash(image.ref, image.recipe, await toolchainFor(image.recipe)) : undefined;
  const info = await driver.images.inspect(image.ref, signal ? { signal } : {});
  const base = { ref: image.ref, neededBy, build, ...(hash ? { hash } : {}) } as const;
  if (!info) return { info, status: { ...base, state: build === 'none' ? 'unavailable' : 'missing' } };
  const ours = info.labels[LABELS.managed] === 'true';
  if (!ours) return { info, status: { ...base, state: 'external', size: info.size } };
  if (hash && info.labels[LABELS.recipeHash] !== hash) return { info, status: { ...base, state: 'stale', size: info.size } };
  return { info, status: { ...base, state: 'built', size: info.size } };
}

/** Where the image stands, without building anything. */
export async function imageStatus(driver: Driver, needed: NeededImage, signal?: AbortSignal): Promise<ImageStatus> {
  return (await inspectStatus(driver, needed, signal)).status;
}

function slug(ref: string): string {
  return ref.replace(/^.*\//, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeImageFile(root: string, path: string, file: { content?: string; link?: string; source?: string; sha256?: string; mode?: number }): Promise<void> {
  const target = join(root, path);
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  if (file.link !== undefined) {
    await symlink(file.link, target);
    return;
  }
  if (file.source !== undefined) {
    // a file of this machine, pinned by its checksum (the recipe hash covers the content)
    const actual = await sha256File(file.source).catch((e: NodeJS.ErrnoException) => {
      throw new LocalClusterError(`image file ${path}: cannot read its source ${file.source} (${e.code ?? e.message}).`);
    });
    if (actual !== file.sha256) throw new LocalClusterError(`image file ${path}: ${file.source} has SHA-256 ${actual}, the recipe pins ${file.sha256}.`);
    await copyFile(file.source, target);
  } else await writeFile(target, file.content ?? '');
  await chmod(target, file.mode ?? 0o644);
}

/** Lays out the image's root filesystem from the recipe. */
async function assembleRoot(session: BuildSession, recipe: ImageRecipe, toolchain: Toolchain, root: string): Promise<void> {
  await mkdir(join(root, 'usr'), { recursive: true });
  for (const [link, target] of MERGED_USR_LINKS) {
    await mkdir(join(root, target), { recursive: true });
    await symlink(target, join(root, link));
  }
  for (const f of baseFiles()) {
    if (f.dir) {
      await mkdir(join(root, f.path), { recursive: true });
      await chmod(join(root, f.path), f.mode);
    } else await writeImageFile(root, f.path, f);
  }

  // busybox-static's shell runs its own applets before PATH (nc, ip, nslookup, ...), which would
  // hide the tools the packages bring: with packages, the dynamic build (PATH first) is the shell
  const shellPackage = recipe.debianPackages?.length ? 'busybox' : 'busybox-static';
  const packages = [...(recipe.debianPackages ?? []), ...(recipe.shell ? [shellPackage] : [])];
  if (packages.length) {
    const closure = await debianClosure(session, packages, toolchain.arch);
    session.step(`Debian packages: ${closure.join(' ')}`);
    await unpackDebs(session, await downloadDebs(session, closure), root);
    for (const dir of DEBIAN_PRUNE) await rm(join(root, dir), { recursive: true, force: true });
  }
  if (recipe.shell) {
    const busybox = join(root, 'usr/bin/busybox');
    const applets = (await exec(busybox, ['--list'])).stdout.split('\n').filter(Boolean);
    for (const applet of applets) {
      const path = join(root, 'usr/bin', applet);
      if (!existsSync(path)) await symlink('busybox', path);
    }
  }
  const trees = new SourceTrees();
  try {
    for (const binary of recipe.go ?? []) {
      const built = await buildGoBinary(session, binary, toolchain, trees);
      const dest = join(root, binary.dir ?? '/usr/local/bin', binary.binary);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(built, dest);
      await chmod(dest, binary.mode ?? 0o755);
    }
  } finally {
    await trees.dispose();
  }
  for (const file of recipe.files ?? []) await writeImageFile(root, file.path, file);
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(ca) && !existsSync(join(root, ca))) {
    await mkdir(join(root, dirname(ca)), { recursive: true });
    await copyFile(ca, join(root, ca));
  }
}

/**
 * Builds an image from its recipe and loads it into the engine under its
 * final name. The engine tags it only once the whole archive is loaded, so an
 * interrupted build never leaves a half-written image under that name.
 */
async function buildRecipe(session: BuildSession, driver: Driver, recipe: ImageRecipe, hash: string, toolchain: Toolchain): Promise<void> {
  const work = join(session.cacheDir, 'work', `${hash}.${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'archive'), { recursive: true });
  try {
    const root = join(work, 'root');
    await assembleRoot(session, recipe, toolchain, root);
    throwIfAborted(session.signal, 'image build');
    const layer = join(work, 'archive', 'layer.tar');
    const tar = await runCommand(
      ['tar', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-C', root, '-cf', layer, '.'],
      { log: session.log, signal: session.signal },
    );
    if (tar.code !== 0) session.fail(`writing the image layer failed:\n${tar.tail}`);
    const diffId = await sha256File(layer);
    const labels = { [LABELS.managed]: 'true', [LABELS.role]: 'image', [LABELS.recipeHash]: hash };
    const config = JSON.stringify(imageConfig(recipe, { arch: toolchain.arch, diffId, labels, createdBy: 'local-cluster image factory' }));
    const configFile = `${createHash('sha256').update(config).digest('hex')}.json`;
    await writeFile(join(work, 'archive', configFile), config);
    await writeFile(join(work, 'archive', 'manifest.json'), archiveManifest(session.ref, configFile, 'layer.tar'));
    const archive = join(work, 'image.tar');
    const packed = await runCommand(['tar', '-C', join(work, 'archive'), '-cf', archive, 'manifest.json', configFile, 'layer.tar'], {
      log: session.log,
      signal: session.signal,
    });
    if (packed.code !== 0) session.fail(`writing the image archive failed:\n${packed.tail}`);
    session.step(`loading into the engine (${((await stat(layer)).size / 1e6).toFixed(1)} MB layer)`);
    await driver.images.load(createReadStream(archive), { signal: session.signal });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Runs a build with its own log file; a failure names what was built, who needs it and the log. */
async function withBuildLog<T>(
  name: string,
  neededBy: string | undefined,
  options: Omit<ImageFactoryOptions, 'driver'>,
  build: (session: BuildSession, logPath: string) => Promise<T>,
): Promise<T> {
  const { signal, logger } = options;
  await cleanStaleWork(options.cacheDir);
  const logDir = options.logDir ?? join(options.cacheDir, '..', 'logs');
  await mkdir(logDir, { recursive: true });
  await mkdir(options.cacheDir, { recursive: true });
  const logPath = join(logDir, `image-${slug(name)}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const log = createWriteStream(logPath);
  try {
    return await build(new BuildSession(name, options.cacheDir, log, logPath, logger, signal, neededBy, findGo()), logPath);
  } catch (error) {
    log.write(`!! ${(error as Error).message}\n`);
    if (signal.aborted) throw new AbortedError(`build of ${name}`, { cause: error });
    if (error instanceof LocalClusterError) throw error;
    throw new ImageBuildError(name, (error as Error).message, { ...(neededBy ? { neededBy } : {}), logPath, cause: error });
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
}

function requireGo(session: BuildSession): void {
  if (!session.go) session.fail('it builds Go programs and no Go toolchain was found', { hint: 'Install Go (https://go.dev/dl) or set GO=/path/to/go.' });
}

/** A recipe build with its own log. */
async function buildFromRecipe(needed: NeededImage, recipe: ImageRecipe, hash: string, state: ImageState, options: ImageFactoryOptions): Promise<void> {
  const { image, neededBy } = needed;
  await withBuildLog(image.ref, neededBy, options, async (session, logPath) => {
    const toolchain = await toolchainFor(recipe);
    if (recipe.go?.length) requireGo(session);
    session.step(`building (recipe ${hash}${state === 'stale' ? ', replacing a build from an older recipe' : ''}); log ${logPath}`);
    await buildRecipe(session, options.driver, recipe, hash, toolchain);
    const after = await options.driver.images.inspect(image.ref, { signal: options.signal });
    if (after?.labels[LABELS.recipeHash] !== hash) session.fail('the engine does not show the loaded image under its name');
    session.step(`done (${((after?.size ?? 0) / 1e6).toFixed(1)} MB)`);
  });
}

/**
 * Builds Go programs that run on this machine rather than in an image (test
 * binaries such as Kubernetes' e2e.test), through the same binary cache:
 * unchanged inputs cost nothing. Returns each binary's path by its name.
 */
export async function ensureGoBinaries(
  name: string,
  binaries: readonly GoBinary[],
  options: Omit<ImageFactoryOptions, 'driver'> & { neededBy?: string },
): Promise<Record<string, string>> {
  for (const binary of binaries) {
    const problems = goBinaryProblems(binary);
    if (problems.length) throw new ImageBuildError(name, `${binary.binary}: ${problems.join('; ')}`, { ...(options.neededBy ? { neededBy: options.neededBy } : {}) });
  }
  const toolchain = await toolchainFor({ go: [...binaries] });
  return withBuildLog(name, options.neededBy, options, async (session) => {
    requireGo(session);
    const paths: Record<string, string> = {};
    const trees = new SourceTrees();
    try {
      for (const binary of binaries) paths[binary.binary] = await buildGoBinary(session, binary, toolchain, trees);
    } finally {
      await trees.dispose();
    }
    return paths;
  });
}

/**
 * Makes sure the engine has the image: an image already there from elsewhere
 * wins; one the factory built from the same recipe is reused (no work); else
 * it is built (recipe or custom build). Returns the state before.
 */
export async function ensureImage(needed: NeededImage, options: ImageFactoryOptions & { rebuild?: boolean }): Promise<ImageStatus> {
  const { signal, logger } = options;
  const { image, neededBy } = needed;
  if (image.recipe) {
    const problems = recipeProblems(image.recipe);
    if (problems.length) {
      throw new ImageBuildError(image.ref, `its recipe is invalid: ${problems.join('; ')}`, { neededBy, hint: 'Fix the ImageRecipe the plugin declares (see the ImageRecipe type in @local-cluster/core).' });
    }
  }
  // one build of an image at a time on this machine: a second command that needs it (two `up`s,
  // test files side by side) waits, then finds it built
  const lock = join(options.cacheDir, 'locks', `${image.ref.replace(/[^A-Za-z0-9_.-]+/g, '_')}.lock`);
  const onWait = (holder: LockHolder) => logger.info(`${image.ref}: waiting for \`${holder.command}\` (pid ${holder.pid}), which is building it`);
  return withWaitingLock(lock, `build of ${image.ref}`, { signal, onWait }, () => ensureImageLocked(needed, options));
}

async function ensureImageLocked(needed: NeededImage, options: ImageFactoryOptions & { rebuild?: boolean }): Promise<ImageStatus> {
  const { driver, signal, logger } = options;
  const { image, neededBy } = needed;
  const { status, info: previous } = await inspectStatus(driver, needed, signal);
  if (status.state === 'external') {
    logger.info(`${image.ref}: in the engine already (not built here): used as is`);
    return status;
  }
  if (status.state === 'built' && !(options.rebuild && image.build && !image.recipe)) {
    logger.debug(`${image.ref}: built from the same recipe (${status.hash ?? 'custom'}): nothing to do`);
    return status;
  }
  if (status.state === 'unavailable') {
    throw new ImageBuildError(image.ref, `it is not in the engine and nothing declares how to build it${image.whyNoRecipe ? ` (${image.whyNoRecipe})` : ''}`, {
      neededBy,
      hint: 'No registry is reachable: load it into the engine (docker load), or give the image a recipe.',
    });
  }
  if (image.recipe) await buildFromRecipe(needed, image.recipe, status.hash!, status.state, options);
  else {
    try {
      await image.build!({ driver, logger, signal, cacheDir: dirname(options.cacheDir), labels: { [LABELS.managed]: 'true', [LABELS.role]: 'image' } });
    } catch (error) {
      if (signal.aborted) throw new AbortedError(`build of ${image.ref}`, { cause: error });
      if (error instanceof LocalClusterError) throw error;
      throw new ImageBuildError(image.ref, (error as Error).message, { neededBy, cause: error });
    }
  }
  // the build from the older recipe is now untagged: remove it
  if (previous && previous.labels[LABELS.managed] === 'true') {
    const now = await driver.images.inspect(image.ref, { signal });
    if (now && now.id !== previous.id) await driver.images.remove(previous.id, { role: 'image' }, { signal }).catch(() => undefined);
  }
  return status;
}

/** How many `docker save` archives the cache keeps (the newest; each is the images of one set). */
export const KEPT_ARCHIVES = 4;

/**
 * Loads images from the engine into every node's containerd (namespace k8s.io,
 * where the kubelet looks), in parallel. One `docker save` archive of the set is
 * written to the cache, named by the images' engine IDs, and streamed into each node;
 * the next `up` with the same images streams the same file without saving again.
 */
export async function loadImagesIntoNodes(
  driver: Driver,
  nodes: readonly NodeHandle[],
  refs: readonly string[],
  options: { cacheDir: string; logger: Logger; signal: AbortSignal },
): Promise<void> {
  if (refs.length === 0 || nodes.length === 0) return;
  const started = performance.now();
  const { archive, saved } = await imageArchive(driver, refs, options);
  const size = (await stat(archive)).size;
  await importIntoNodes(nodes, archive, { signal: options.signal });
  options.logger.info(
    `loaded ${refs.length} image(s) (${(size / 1e6).toFixed(1)} MB${saved ? '' : ', archive cached'}) into ${nodes.length} node(s) in ${((performance.now() - started) / 1000).toFixed(1)}s`,
  );
}

/**
 * The `docker save` archive of these images, from the cache when one was saved of the same
 * engine image IDs (a rebuilt image has another ID, so another archive); otherwise saved now,
 * written under a temporary name and renamed, so a reader never sees half a file. The oldest
 * archives beyond KEPT_ARCHIVES are removed.
 */
export async function imageArchive(driver: Driver, refs: readonly string[], options: { cacheDir: string; signal: AbortSignal }): Promise<{ archive: string; saved: boolean }> {
  const dir = join(options.cacheDir, 'archives');
  await mkdir(dir, { recursive: true });
  const key = createHash('sha256');
  for (const ref of [...refs].sort()) {
    const info = await driver.images.inspect(ref, { signal: options.signal });
    if (!info) throw new LocalClusterError(`image ${ref} is not in the engine, so it cannot be loaded into the nodes`);
    key.update(ref).update('\0').update(info.id).update('\0');
  }
  const archive = join(dir, `${key.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(archive)) {
    // the newest again, so pruning keeps it
    const now = new Date();
    await utimes(archive, now, now).catch(() => undefined);
    return { archive, saved: false };
  }
  const partial = `${archive}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.partial`;
  try {
    const stream = await driver.images.save([...refs], { signal: options.signal });
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(partial);
      stream.once('error', reject);
      out.once('error', reject);
      out.once('finish', () => resolve());
      stream.pipe(out);
    });
    await rename(partial, archive);
  } finally {
    await rm(partial, { force: true });
  }
  await pruneArchives(dir);
  return { archive, saved: true };
}

/** Removes all but the KEPT_ARCHIVES newest archives (and partial files of runs that died). */
async function pruneArchives(dir: string): Promise<void> {
  const entries = await Promise.all(
    (await readdir(dir)).map(async (name) => ({ name, mtime: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  const archives = entries.filter((e) => e.name.endsWith('.tar')).sort((a, b) => b.mtime - a.mtime);
  const stale = [...archives.slice(KEPT_ARCHIVES), ...entries.filter((e) => e.name.endsWith('.partial') && Date.now() - e.mtime > 3_600_000)];
  await Promise.all(stale.map((e) => rm(join(dir, e.name), { force: true })));
}

/**
 * Streams an image archive (`docker save` or OCI tar) into `ctr images import`
 * (namespace k8s.io) on every node, in parallel; a refusal names the node.
 */
export async function importIntoNodes(nodes: readonly NodeHandle[], archive: string, options: { signal: AbortSignal; hint?: string }): Promise<void> {
  const results = await Promise.all(
    nodes.map((node) => node.run(['ctr', '-n', 'k8s.io', 'images', 'import', '-'], { stdin: createReadStream(archive), signal: options.signal })),
  );
  const failed = results.findIndex((r) => r.exitCode !== 0);
  if (failed >= 0) {
    const why = (results[failed]!.stderr || results[failed]!.stdout).trim().split('\n').slice(-2).join(' ');
    throw new LocalClusterError(`${nodes[failed]!.hostname} could not import ${archive}: ${why}`, options.hint ? { hint: options.hint } : {});
  }
}

/**
 * Loads into each node only the images whose engine image ID differs from the
 * one last loaded there (or that containerd no longer lists), and records
 * what it loaded on the node. Returns the refs loaded anywhere.
 */
export async function syncImagesIntoNodes(
  driver: Driver,
  nodes: readonly NodeHandle[],
  refs: readonly string[],
  options: { cacheDir: string; logger: Logger; signal: AbortSignal },
): Promise<string[]> {
  const ids = new Map<string, string>();
  for (const ref of refs) {
    const info = await driver.images.inspect(ref, { signal: options.signal });
    if (info) ids.set(ref, info.id);
  }
  const record = NODE_CONTRACT.loadedImagesRecord;
  const stale = await Promise.all(
    nodes.map(async (node) => {
      const out = (await node.run(['sh', '-c', `cat ${record} 2>/dev/null; echo ---; ctr -n k8s.io images ls -q`], { signal: options.signal })).stdout;
      const [recorded = '', listed = ''] = out.split('---\n');
      const loaded = new Map(recorded.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
      const present = new Set(listed.split('\n').filter(Boolean));
      return { node, loaded, refs: [...ids].filter(([ref, id]) => loaded.get(ref) !== id || !present.has(ref)).map(([ref]) => ref) };
    }),
  );
  const all = [...new Set(stale.flatMap((s) => s.refs))];
  if (all.length === 0) return [];
  const targets = stale.filter((s) => s.refs.length);
  await loadImagesIntoNodes(driver, targets.map((s) => s.node), all, options);
  await Promise.all(
    targets.map(({ node, loaded }) => {
      for (const ref of all) loaded.set(ref, ids.get(ref)!);
      return writeNodeFile(node, record, [...loaded].map(([ref, id]) => `${ref} ${id}\n`).join(''), { signal: options.signal });
    }),
  );
  return all;
}

/** Stale work directories of builds that were killed (their pid is gone). */
export async function cleanStaleWork(cacheDir: string): Promise<void> {
  const dir = join(cacheDir, 'work');
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir)) {
    const pid = Number(entry.split('.').pop());
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (!alive) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

