import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { dashboard, isManifestSpec, manifestAddon, readManifest } from '../src/index.js';

describe('addons', () => {
  it('dashboard and manifest addons conform to the Addon contract', () => {
    expect(checkAddon(dashboard())).toEqual([]);
    expect(checkAddon(manifestAddon({ source: './x.yaml' }))).toEqual([]);
  });

  it('tells manifest specs from names', () => {
    expect(isManifestSpec('https://example.com/a.yaml')).toBe(true);
    expect(isManifestSpec('./addon.yml')).toBe(true);
    expect(isManifestSpec('dashboard')).toBe(false);
  });

  it('reads a manifest relative to the base directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-addon-'));
    writeFileSync(join(dir, 'a.yaml'), 'kind: ConfigMap\n');
    expect(await readManifest('a.yaml', dir)).toBe('kind: ConfigMap\n');
    await expect(readManifest('missing.yaml', dir)).rejects.toThrow(/missing\.yaml/);
  });
});
