import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { request } from 'undici';
import { ADDON_API_VERSION, type Addon } from '@local-cluster/core';

export interface ManifestAddonOptions {
  /** A path to a YAML file (relative to baseDir) or an http(s) URL. */
  source: string;
  /** Directory relative paths resolve from (the config file's directory). */
  baseDir?: string;
  name?: string;
}

export function isManifestSpec(spec: string): boolean {
  return /^https?:\/\//.test(spec) || /\.ya?ml$/i.test(spec);
}

/** Reads a manifest from a file or URL; errors name the source. */
export async function readManifest(source: string, baseDir = process.cwd(), signal?: AbortSignal): Promise<string> {
  if (/^https?:\/\//.test(source)) {
    const res = await request(source, { method: 'GET', maxRedirections: 5, ...(signal ? { signal } : {}) } as Parameters<typeof request>[1]);
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`addon manifest ${source}: HTTP ${res.statusCode}`);
    }
    return res.body.text();
  }
  return readFile(resolve(baseDir, source), 'utf8');
}

/** An addon that applies a YAML manifest from a path or URL. */
export function manifestAddon(options: ManifestAddonOptions): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: options.name ?? options.source,
    async install(ctx) {
      await ctx.apply(await readManifest(options.source, options.baseDir, ctx.signal));
    },
  };
}
