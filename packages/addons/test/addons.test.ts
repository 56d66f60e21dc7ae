import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { recipeProblems, NODE_CONTRACT } from '@local-cluster/core';
import { metricsServer, metricsServerImages, metricsServerManifest, dashboard, isManifestSpec, manifestAddon, readManifest, storage, storageImages, storageManifest, PROVISIONER, VOLUMES_DIR } from '../src/index.js';

describe('addons', () => {
  it('dashboard and manifest addons conform to the Addon contract', () => {
    expect(checkAddon(dashboard())).toEqual([]);
    expect(checkAddon(manifestAddon({ source: './x.yaml' }))).toEqual([]);
    expect(checkAddon(storage())).toEqual([]);
    expect(checkAddon(metricsServer())).toEqual([]);
  });

  it('metrics-server: serves metrics.k8s.io through an APIService, skips verifying the kubelets\' self-signed serving certificates', () => {
    const objects = metricsServerManifest() as { kind: string; metadata: { name: string }; spec?: { group?: string; template?: { spec: { containers: { args: string[] }[] } } } }[];
    expect(objects.find((o) => o.kind === 'APIService')!.spec!.group).toBe('metrics.k8s.io');
    const args = objects.find((o) => o.kind === 'Deployment')!.spec!.template!.spec.containers[0]!.args;
    expect(args).toEqual(expect.arrayContaining(['--kubelet-insecure-tls', '--kubelet-preferred-address-types=InternalIP']));
    for (const image of metricsServerImages()) expect(recipeProblems(image.recipe!)).toEqual([]);
  });

  it('storage: a default StorageClass on the provisioner, volumes on the node\'s /var, helper pods on the toolbox image', () => {
    const objects = storageManifest() as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; provisioner?: string; data?: Record<string, string> }[];
    const sc = objects.find((o) => o.kind === 'StorageClass')!;
    expect(sc.metadata.annotations!['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(sc.provisioner).toBe(PROVISIONER);
    const config = objects.find((o) => o.kind === 'ConfigMap')!.data!;
    expect(JSON.parse(config['config.json']!).nodePathMap[0].paths).toEqual([VOLUMES_DIR]);
    expect(VOLUMES_DIR.startsWith('/var/')).toBe(true);
    expect(JSON.parse(config['helperPod.yaml']!).spec.containers[0]).toMatchObject({ image: NODE_CONTRACT.toolboxImage, imagePullPolicy: 'Never' });
    for (const image of storageImages()) expect(recipeProblems(image.recipe!)).toEqual([]);
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
