import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolve as resolveSpecifier } from 'import-meta-resolve';
import { PluginError } from '../errors.js';
import { validatePlugin, type PluginKind, type PluginOf } from './validate.js';

export interface ResolvePluginOptions {
  /** Directory relative paths and package names resolve from: the config file's directory. */
  baseDir: string;
  /** Built-in names and the package each maps to, e.g. { bridge: '@local-cluster/cni-bridge' }. */
  builtins?: Readonly<Record<string, string>>;
  /**
   * Where else a built-in's package may be found (module URLs, e.g. the CLI's
   * own import.meta.url), tried after baseDir. Never used for other names.
   */
  builtinsFrom?: readonly string[];
  /** The setting that named the plugin, for messages (cluster.cniPlugin). */
  setting?: string;
  /** Passed to the module's factory when its default export is a function. */
  options?: unknown;
}

/** A plugin given by name/path, or an object handed over by a library user. */
export type PluginRef<K extends PluginKind> = string | PluginOf<K>;

function isPathSpec(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);
}

/** The ESM entry of a package directory named by path. */
function packageDirEntry(dir: string, spec: string): string {
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) return join(dir, 'index.js');
  let manifest: { exports?: unknown; module?: string; main?: string };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
  } catch (cause) {
    throw new PluginError(`Plugin directory ${dir} has an invalid package.json (${manifestPath}): ${(cause as Error).message}`, {
      spec,
      tried: [manifestPath],
      cause,
      hint: 'Fix the JSON in that package.json.',
    });
  }
  let entry: unknown = manifest.exports;
  if (entry && typeof entry === 'object' && '.' in entry) entry = (entry as Record<string, unknown>)['.'];
  while (entry && typeof entry === 'object') {
    const conditions = entry as Record<string, unknown>;
    entry = conditions.import ?? conditions.default ?? conditions.node;
  }
  return join(dir, typeof entry === 'string' ? entry : (manifest.module ?? manifest.main ?? 'index.js'));
}

function resolveFrom(specifier: string, parents: readonly string[], tried: string[]): string | undefined {
  for (const parent of parents) {
    tried.push(`package "${specifier}" from ${parent}`);
    try {
      return resolveSpecifier(specifier, parent);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') continue;
      // a package that is there but broken (bad package.json, bad exports target)
      throw new PluginError(`Package "${specifier}" cannot be loaded: ${(e as Error).message}`, {
        spec: specifier,
        tried,
        cause: e,
        hint: "Fix or reinstall the package; its package.json is invalid.",
      });
    }
  }
  return undefined;
}

/** Finds the module URL for a plugin spec, or throws PluginError saying what was tried. */
export function resolvePluginUrl(spec: string, kind: PluginKind, opts: ResolvePluginOptions): string {
  const tried: string[] = [];
  const label = kind === 'cni' ? 'CNI plugin' : 'addon';
  const settingPart = opts.setting ? ` (${opts.setting})` : '';
  if (isPathSpec(spec)) {
    const abs = resolvePath(opts.baseDir, spec);
    tried.push(abs);
    if (!existsSync(abs)) {
      throw new PluginError(`${label} "${spec}"${settingPart}: ${abs} does not exist.`, {
        spec,
        tried,
        ...(opts.setting ? { setting: opts.setting } : {}),
        hint: 'Paths are relative to the config file\'s directory; check the path.',
      });
    }
    const file = statSync(abs).isDirectory() ? packageDirEntry(abs, spec) : abs;
    return pathToFileURL(file).href;
  }
  const builtinPackage = opts.builtins?.[spec];
  const specifier = builtinPackage ?? spec;
  const parents = [pathToFileURL(join(opts.baseDir, 'package.json')).href];
  if (builtinPackage) parents.push(...(opts.builtinsFrom ?? []));
  const found = resolveFrom(specifier, parents, tried);
  if (found) return found;
  const builtinNames = Object.keys(opts.builtins ?? {});
  const looksLikeName = /^[a-z][a-z0-9-]*$/.test(spec) && !builtinPackage;
  throw new PluginError(
    builtinPackage
      ? `Built-in ${label} "${spec}"${settingPart} is not installed: package ${builtinPackage} was not found.`
      : `${label} "${spec}"${settingPart} was not found: it is not a built-in name${builtinNames.length ? ` (${builtinNames.join(', ')})` : ''} and no npm package of that name is installed in ${opts.baseDir}.`,
    {
      spec,
      tried,
      ...(opts.setting ? { setting: opts.setting } : {}),
      hint: looksLikeName
        ? `Use one of ${builtinNames.join(', ') || 'the built-in names'}, a ./path to a plugin module, or install the package: npm install ${spec} (in ${opts.baseDir}).`
        : `Install it where the config file is: npm install ${builtinPackage ?? spec} (in ${opts.baseDir}).`,
    },
  );
}

/**
 * Loads a plugin: an object is validated and returned; a string is resolved
 * (built-in name, ./path relative to baseDir, or npm package from baseDir),
 * imported, its default export called if it is a factory, and validated.
 */
export async function loadPlugin<K extends PluginKind>(
  ref: PluginRef<K>,
  kind: K,
  opts: ResolvePluginOptions,
): Promise<PluginOf<K>> {
  if (typeof ref !== 'string') {
    return validatePlugin(kind, ref, { spec: (ref as { name?: string }).name ?? '(object)', ...(opts.setting ? { setting: opts.setting } : {}) });
  }
  const url = resolvePluginUrl(ref, kind, opts);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw new PluginError(`Could not load "${ref}" from ${url}: ${(cause as Error).message}`, {
      spec: ref,
      tried: [url],
      ...(opts.setting ? { setting: opts.setting } : {}),
      cause,
    });
  }
  let value = mod.default ?? mod.plugin;
  if (typeof value === 'function') value = await (value as (o?: unknown) => unknown)(opts.options);
  return validatePlugin(kind, value, { spec: ref, from: url, ...(opts.setting ? { setting: opts.setting } : {}) });
}
