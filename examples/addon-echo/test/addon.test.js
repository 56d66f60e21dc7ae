import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { loadPlugin, recipeProblems } from '@local-cluster/core';
import { fileURLToPath } from 'node:url';
import echo, { images, manifest, IMAGE } from '../index.js';

describe('echo example addon', () => {
  it('conforms to the Addon contract and declares a buildable image', () => {
    expect(checkAddon(echo())).toEqual([]);
    expect(images().map((i) => i.ref)).toEqual([IMAGE]);
    expect(recipeProblems(images()[0].recipe)).toEqual([]);
  });

  it('its Deployment runs the image it declares, never pulling', () => {
    const deployment = manifest(2).find((o) => o.kind === 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0].image).toBe(IMAGE);
  });

  it('loads by path the way the CLI loads a plugin named in cluster.addons', async () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const addon = await loadPlugin('./index.js', 'addon', { baseDir: dir, builtins: {}, setting: 'cluster.addons' });
    expect(addon.name).toBe('echo');
  });
});
