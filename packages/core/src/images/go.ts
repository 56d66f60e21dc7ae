import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { GoBinary } from '../contracts/image.js';
import { LocalClusterError } from '../errors.js';
import { runCommand } from './command.js';
import { canonicalJson, goBinaryHash, type Toolchain } from './recipe.js';
import type { BuildSession } from './session.js';

/** The Go toolchain: $GO, `go` on PATH, or /usr/local/go/bin/go. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GO) return env.GO;
  for (const dir of (env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

/** Environment of every `go` call: the machine's own Go settings (proxy, sumdb) are kept. */
export function goEnv(binary: GoBinary, arch: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const flags = [base.GOFLAGS, '-mod=mod', '-buildvcs=false'].filter(Boolean).join(' ');
  return { ...base, CGO_ENABLED: binary.cgo ? '1' : '0', GOOS: 'linux', GOARCH: arch, GOWORK: 'off', GOFLAGS: flags, ...binary.env };
}

/** The `go build` (or `go test -c`) arguments of a binary, up to `-o`: stripped, static unless told otherwise. */
export function goBuildArgs(binary: GoBinary): string[] {
  // -extldflags applies only when the external linker runs (cgo, -linkmode external)
  const ext = binary.extldflags ?? '-static';
  const ldflags = ['-s', '-w', '-extldflags', ext.includes(' ') ? `'${ext}'` : ext, ...(binary.ldflags ?? [])];
  return [
    ...(binary.test ? ['test', '-c', '-vet=off'] : ['build']),
    '-trimpath',
    ...(binary.buildmode && binary.buildmode !== 'exe' ? [`-buildmode=${binary.buildmode}`] : []),
    ...(binary.tags?.length ? ['-tags', binary.tags.join(',')] : []),
    '-ldflags',
    ldflags.join(' '),
  ];
}

/** Removes `_ "path"` imports from Go source; returns the new text and which paths were found. */
export function dropBlankImports(source: string, paths: readonly string[]): { text: string; dropped: string[] } {
  const dropped: string[] = [];
  const text = source
    .split('\n')
    .filter((line) => {
      const m = /^\s*(?:import\s+)?_\s+"([^"]+)"\s*(?:\/\/.*)?$/.exec(line);
      if (m && paths.includes(m[1]!)) {
        dropped.push(m[1]!);
        return false;
      }
      return true;
    })
    .join('\n');
  return { text, dropped };
}

/** What `go mod download -json` printed: the module's directory, or why it failed. */
function moduleDownload(stdout: string): { Dir?: string; Error?: string } {
  try {
    return JSON.parse(stdout) as { Dir?: string; Error?: string };
  } catch {
    return {};
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}

/** Module paths a go.mod replaces with directories inside its own tree (`k8s.io/api => ./staging/src/k8s.io/api`). */
export function inTreeReplaces(goMod: string): string[] {
  const paths: string[] = [];
  for (const m of goMod.matchAll(/^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+\.\.?\/\S*\s*$/gm)) paths.push(m[1]!);
  return paths;
}

/** Whether `version` can be a version of module `path` (v2+ needs the /vN suffix, v0/v1 none). */
export function majorMatches(path: string, version: string): boolean {
  const major = Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
  const suffix = /\/v(\d+)$/.exec(path)?.[1];
  return major >= 2 ? suffix === String(major) : suffix === undefined;
}

/** Applies the recipe's replace directives (stubs as local empty modules) and pinned go.sum lines. */
async function editGoMod(session: BuildSession, src: string, binary: GoBinary, go: string, env: NodeJS.ProcessEnv): Promise<void> {
  const replaces: Record<string, string> = {};
  if (binary.inTreeReplacesAt) {
    const inTree = inTreeReplaces(await readFile(join(src, 'go.mod'), 'utf8'));
    if (!inTree.length) session.fail(`${binary.module}@${binary.version} has no in-tree replace directives (inTreeReplacesAt)`, { hint: 'Remove inTreeReplacesAt from the recipe.' });
    for (const path of inTree) {
      if (majorMatches(path, binary.inTreeReplacesAt)) replaces[path] = `${path} ${binary.inTreeReplacesAt}`;
      else {
        // a guard such as `go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY`: nothing of the build uses it
        const r = await runCommand([go, 'mod', 'edit', `-dropreplace=${path}`], { cwd: src, env, log: session.log, signal: session.signal });
        if (r.code !== 0) session.fail(`go mod edit -dropreplace=${path} failed:\n${r.tail}`);
      }
    }
  }
  for (const [path, target] of Object.entries({ ...replaces, ...binary.replace })) {
    let to = target.replace(' ', '@');
    if (target === 'stub') {
      const dir = join(src, '.local-cluster-stubs', path.replace(/[^A-Za-z0-9._-]+/g, '_'));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'go.mod'), `module ${path}\n\ngo 1.21\n`);
      to = `./${relative(src, dir)}`;
    }
    const r = await runCommand([go, 'mod', 'edit', `-replace=${path}=${to}`], { cwd: src, env, log: session.log, signal: session.signal });
    if (r.code !== 0) session.fail(`go mod edit -replace=${path}=${to} failed:\n${r.tail}`, { hint: 'Check GoBinary.replace.' });
  }
  if (binary.sums?.length) {
    const sumFile = join(src, 'go.sum');
    const existing = existsSync(sumFile) ? await readFile(sumFile, 'utf8') : '';
    await writeFile(sumFile, `${existing}${existing && !existing.endsWith('\n') ? '\n' : ''}${binary.sums.join('\n')}\n`);
  }
}

/**
 * The recipe's own files and literal edits in the module's tree (a nested module the zip leaves
 * out, an import pointed at a stub package): a file to write that exists, or an edit whose text is
 * not in its file, fails the build naming it, so a new module version never builds half-edited.
 */
export async function applySourceChanges(session: Pick<BuildSession, 'fail' | 'log'>, src: string, binary: Pick<GoBinary, 'module' | 'version' | 'sourceFiles' | 'sourceEdits'>): Promise<void> {
  const at = `${binary.module}@${binary.version}`;
  for (const file of binary.sourceFiles ?? []) {
    const path = join(src, file.path);
    if (existsSync(path)) session.fail(`${at} already has ${file.path} (sourceFiles writes new files only)`, { hint: 'Change it with sourceEdits instead.' });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
    session.log.write(`wrote ${file.path}\n`);
  }
  for (const edit of binary.sourceEdits ?? []) {
    const path = join(src, edit.file);
    const text = existsSync(path) ? await readFile(path, 'utf8') : undefined;
    if (text === undefined || !text.includes(edit.from)) {
      session.fail(`${at}: ${text === undefined ? `has no file ${edit.file}` : `${edit.file} does not contain ${JSON.stringify(edit.from)}`} (sourceEdits)`, {
        hint: 'The module changed: fix the edit for this version, or drop it.',
      });
    }
    await writeFile(path, text.split(edit.from).join(edit.to));
    session.log.write(`edited ${edit.file}\n`);
  }
}

/** Numbers shared trees, so two builds in one process never prepare the same directory. */
let treeCount = 0;

/** What decides a binary's prepared source tree: binaries that agree on it build from one tree. */
export function sourceTreeKey(binary: GoBinary): string {
  const { module, version, replace, sums, inTreeReplacesAt, dropImports, sourceFiles, sourceEdits, env } = binary;
  // dropImports edits the main package's files: only binaries of that package share such a tree
  return canonicalJson({ module, version, replace, sums, inTreeReplacesAt, dropImports, sourceFiles, sourceEdits, package: dropImports?.length ? binary.package ?? '.' : undefined, env });
}

/**
 * The writable module trees of one build, each prepared once (copied out of the module cache,
 * go.mod edited) and shared by every binary built from it: the seven Kubernetes programs of a
 * node image copy and edit k8s.io/kubernetes once, not seven times. `dispose` removes them.
 */
export class SourceTrees {
  private readonly trees = new Map<string, Promise<string>>();

  tree(key: string, prepare: () => Promise<string>): Promise<string> {
    let tree = this.trees.get(key);
    if (!tree) {
      tree = prepare();
      this.trees.set(key, tree);
    }
    return tree;
  }

  async dispose(): Promise<void> {
    const dirs = await Promise.allSettled(this.trees.values());
    this.trees.clear();
    for (const dir of dirs) if (dir.status === 'fulfilled') await rm(dir.value, { recursive: true, force: true });
  }
}

/** A writable copy of the module with the recipe's edits (dropped imports, replaces, sums). */
async function prepareSource(session: BuildSession, binary: GoBinary, go: string, env: NodeJS.ProcessEnv, name: string): Promise<string> {
  const at = `${binary.module}@${binary.version}`;
  const dl = await runCommand([go, 'mod', 'download', '-json', at], { env, log: session.log, signal: session.signal, cwd: session.cacheDir });
  const info = moduleDownload(dl.stdout);
  if (dl.code !== 0 || !info.Dir) {
    const why = info.Error ?? dl.tail;
    session.fail(`the Go module proxy did not serve ${at}: ${why}`, {
      hint: `Check the module path and version (\`go list -m -versions ${binary.module}\` lists what the proxy serves), and the machine's GOPROXY.`,
    });
  }
  const src = join(session.cacheDir, 'go-src', `${name}.${process.pid}`);
  await rm(src, { recursive: true, force: true });
  await mkdir(join(session.cacheDir, 'go-src'), { recursive: true });
  try {
    await cp(info.Dir!, src, { recursive: true });
    await makeWritable(src);
    const pkg = binary.package && binary.package !== '.' ? binary.package : '.';
    const pkgDir = join(src, pkg);
    if (binary.dropImports?.length && existsSync(pkgDir)) {
      const missing = new Set(binary.dropImports);
      for (const file of (await readdir(pkgDir)).filter((f) => f.endsWith('.go'))) {
        const path = join(pkgDir, file);
        const { text, dropped } = dropBlankImports(await readFile(path, 'utf8'), binary.dropImports);
        if (dropped.length) {
          await writeFile(path, text);
          for (const d of dropped) missing.delete(d);
          session.log.write(`dropped imports ${dropped.join(', ')} from ${file}\n`);
        }
      }
      if (missing.size) session.fail(`the blank imports ${[...missing].join(', ')} (dropImports) are not in ${at}/${pkg}`, { hint: 'Remove them from the recipe or fix their paths.' });
    }
    await applySourceChanges(session, src, binary);
    if (binary.replace || binary.sums || binary.inTreeReplacesAt) await editGoMod(session, src, binary, go, env);
    return src;
  } catch (error) {
    await rm(src, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Builds one Go binary into the shared binary cache (keyed by its inputs and
 * the toolchain) and returns its path. The module is built as the main module
 * (its own go.mod, replace directives and go.sum apply), from a copy of the
 * module cache's read-only tree (shared with the build's other binaries of the
 * same tree when `trees` is given); Go's module and build caches are shared.
 */
export async function buildGoBinary(session: BuildSession, binary: GoBinary, toolchain: Toolchain, trees?: SourceTrees): Promise<string> {
  const key = goBinaryHash(binary, toolchain);
  const outDir = join(session.cacheDir, 'go-bin', key);
  const out = join(outDir, binary.binary);
  if (existsSync(out)) {
    session.step(`go binary ${binary.binary}: cached (${key})`);
    return out;
  }
  const go = session.go!;
  const env = goEnv(binary, toolchain.arch);
  const at = `${binary.module}@${binary.version}`;
  const started = performance.now();
  const treeKey = sourceTreeKey(binary);
  const src = trees
    ? await trees.tree(treeKey, () => prepareSource(session, binary, go, env, `${createHash('sha256').update(treeKey).digest('hex').slice(0, 16)}-${++treeCount}`))
    : await prepareSource(session, binary, go, env, key);
  const cleanup = () => (trees ? Promise.resolve() : rm(src, { recursive: true, force: true }));

  const pkg = binary.package && binary.package !== '.' ? binary.package : '.';
  const pkgDir = join(src, pkg);
  if (!existsSync(pkgDir) || !(await stat(pkgDir)).isDirectory()) {
    await cleanup();
    session.fail(`${at} has no package "${pkg}"`, { hint: 'Check GoBinary.package: a path relative to the module root.' });
  }

  session.step(`go ${binary.test ? 'test -c' : 'build'} ${binary.binary} (${at}${pkg === '.' ? '' : `/${pkg}`})`);
  await mkdir(outDir, { recursive: true });
  const tmp = join(outDir, `.${binary.binary}.${process.pid}.tmp`);
  const argv = [go, ...goBuildArgs(binary), '-o', tmp, `./${pkg === '.' ? '' : pkg}`];
  const built = await runCommand(argv, { cwd: src, env, log: session.log, signal: session.signal }).finally(cleanup);
  if (built.code !== 0) {
    await rm(tmp, { force: true });
    session.fail(`go build of ${binary.binary} from ${at} failed:\n${built.tail}`, {
      hint: binary.cgo
        ? 'cgo is on: check the C compiler and the C flags and libraries the recipe passes (GoBinary.env CGO_CFLAGS, CGO_LDFLAGS, PKG_CONFIG_PATH).'
        : 'CGO is off: a package that needs cgo must be left out (GoBinary.dropImports) or replaced.',
    });
  }
  await rename(tmp, out);
  session.step(`built ${binary.binary} in ${((performance.now() - started) / 1000).toFixed(1)}s (${((await stat(out)).size / 1e6).toFixed(1)} MB)`);
  return out;
}

/**
 * The directory of a module version in the machine's Go module cache (downloaded
 * through its GOPROXY when missing): plugins read files a release ships (CRDs)
 * from there instead of copying them into their package.
 */
export async function goModuleDir(module: string, version: string, env: Record<string, string> = {}): Promise<string> {
  const go = findGo();
  if (!go) throw new LocalClusterError(`Reading ${module}@${version} needs a Go toolchain, and none was found.`, { hint: 'Install Go or set GO=/path/to/go.' });
  const run = await promisify(execFile)(go, ['mod', 'download', '-json', `${module}@${version}`], {
    env: { ...process.env, GOFLAGS: '-mod=mod', ...env },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; message: string }) => ({ stdout: error.stdout ?? '', failure: error.message }));
  const info = moduleDownload(run.stdout);
  if (!info.Dir || 'failure' in run) {
    throw new LocalClusterError(`The Go module proxy did not serve ${module}@${version}: ${info.Error ?? ('failure' in run ? run.failure : 'unknown error')}`, {
      hint: "Check the machine's GOPROXY.",
    });
  }
  return info.Dir;
}
