import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import { request } from 'undici';
import { ADDON_API_VERSION, ConfigError, NODE_CONTRACT, type Addon } from '@local-cluster/core';

export interface ManifestAddonOptions {
  /** A path to a YAML file (relative to baseDir) or an http(s) URL. */
  source: string;
  /** Directory relative paths resolve from (the config file's directory). */
  baseDir?: string;
  name?: string;
  /** The manifest's text, read already (loadManifestAddon): images and workloads are known before `up`. */
  text?: string;
}

export function isManifestSpec(spec: string): boolean {
  return /^https?:\/\//.test(spec) || /\.ya?ml$/i.test(spec);
}

/** Reads a manifest from a file or URL; errors name the source. */
export async function readManifest(source: string, baseDir = process.cwd(), signal?: AbortSignal): Promise<string> {
  if (/^https?:\/\//.test(source)) {
    const res = await request(source, { method: 'GET', maxRedirections: 5, headersTimeout: 15_000, bodyTimeout: 30_000, ...(signal ? { signal } : {}) } as Parameters<typeof request>[1]);
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`addon manifest ${source}: HTTP ${res.statusCode}`);
    }
    return res.body.text();
  }
  return readFile(resolve(baseDir, source), 'utf8');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

/** The documents of a multi-document YAML (Lists unpacked), in order; empty documents dropped. */
export function manifestDocuments(text: string, source: string): Doc[] {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { filename: source });
  } catch (cause) {
    const mark = (cause as { mark?: { line: number; column: number } }).mark;
    throw new ConfigError(`Addon ${source} is not valid YAML${mark ? ` (line ${mark.line + 1}, column ${mark.column + 1})` : ''}: ${(cause as { reason?: string }).reason ?? String(cause)}.`, {
      setting: 'cluster.addons',
      cause,
      hint: 'Fix the manifest, or remove it from cluster.addons.',
    });
  }
  const out: Doc[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc) || typeof (doc as Doc).kind !== 'string' || typeof (doc as Doc).apiVersion !== 'string') {
      throw new ConfigError(`Addon ${source}: document ${i + 1} is not a Kubernetes object (it needs apiVersion and kind).`, { setting: 'cluster.addons', hint: 'Fix the manifest, or remove it from cluster.addons.' });
    }
    if ((doc as Doc).kind === 'List') out.push(...(((doc as Doc).items as Doc[]) ?? []));
    else out.push(doc as Doc);
  }
  if (out.length === 0) throw new ConfigError(`Addon ${source} holds no Kubernetes objects.`, { setting: 'cluster.addons', hint: 'Point cluster.addons at a manifest with objects in it.' });
  return out;
}

/** The pod template (or pod spec) of a workload object. */
function podSpecOf(doc: Doc): Doc | undefined {
  if (doc.kind === 'Pod') return doc.spec;
  if (doc.kind === 'CronJob') return doc.spec?.jobTemplate?.spec?.template?.spec;
  return doc.spec?.template?.spec;
}

/** Every image the manifest's workloads run (containers and init containers), in order, once each. */
export function manifestImages(docs: readonly Doc[]): string[] {
  const images = new Set<string>();
  for (const doc of docs) {
    const spec = podSpecOf(doc);
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) if (typeof c?.image === 'string') images.add(c.image);
  }
  return [...images];
}

const ROLLOUT_KINDS: Record<string, 'deployment' | 'daemonset' | 'statefulset'> = { Deployment: 'deployment', DaemonSet: 'daemonset', StatefulSet: 'statefulset' };

/**
 * An addon that applies a YAML manifest from a path or URL, in document order, and waits for
 * the Deployments, DaemonSets and StatefulSets it creates. With `text` (loadManifestAddon), the
 * images it names are declared, so preflight names a missing one before anything is made.
 */
export function manifestAddon(options: ManifestAddonOptions): Addon {
  const docs = options.text !== undefined ? manifestDocuments(options.text, options.source) : undefined;
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: options.name ?? options.source,
    // images no registry can give must be in the engine (docker load) or come from another plugin
    images: () => (docs ? manifestImages(docs).filter((ref) => ref !== NODE_CONTRACT.toolboxImage).map((ref) => ({ ref })) : []),
    async install(ctx) {
      const text = options.text ?? (await readManifest(options.source, options.baseDir, ctx.signal));
      await ctx.apply(text);
    },
    async waitReady(ctx) {
      const objects = docs ?? manifestDocuments(await readManifest(options.source, options.baseDir, ctx.signal), options.source);
      for (const doc of objects) {
        const kind = ROLLOUT_KINDS[doc.kind as string];
        if (kind) await ctx.waitForRollout(kind, doc.metadata?.namespace ?? 'default', doc.metadata?.name, { timeoutSeconds: 300 });
      }
    },
  };
}

/**
 * Reads and checks a manifest addon before `up` creates anything: a missing file, an
 * unreachable URL or YAML that does not parse is a ConfigError naming the addon.
 */
export async function loadManifestAddon(source: string, baseDir = process.cwd()): Promise<Addon> {
  let text: string;
  try {
    text = await readManifest(source, baseDir);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const remote = /^https?:\/\//.test(source);
    throw new ConfigError(
      remote ? `Addon ${source} cannot be fetched: ${(cause as Error).message}.` : `Addon ${source} cannot be read: ${code === 'ENOENT' ? `no such file (${resolve(baseDir, source)})` : (cause as Error).message}.`,
      {
        setting: 'cluster.addons',
        cause,
        hint: remote ? 'Check the URL and that this machine reaches it, or save the manifest and name the file.' : 'Paths are relative to the config file (or the current directory without one).',
      },
    );
  }
  return manifestAddon({ source, baseDir, text });
}
