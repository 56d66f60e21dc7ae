import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { recipeProblems, NODE_CONTRACT, CHECKS_CONFIGMAP, BACKGROUND_LABEL, type ImageRequirement } from '@local-cluster/core';
import { CHECKS_CONFIGMAP as DASHBOARD_CHECKS } from '../src/dashboard/paths.js';
// the built package: its dashboard image carries the bundle the build makes
import { dashboardImage as dashboardImageOf } from '@local-cluster/addons';
import { dashboardManifest as dashboardManifestOf, loadManifestAddon, manifestDocuments, manifestImages, metricsServer, metricsServerImages, metricsServerManifest, dashboard, isManifestSpec, manifestAddon, readManifest, storage, storageImages, storageManifest, PROVISIONER, VOLUMES_DIR } from '../src/index.js';

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

  it('the built-in addons run on the control planes, their images loaded there only, and `up` does not wait for them', () => {
    type Obj = { kind: string; spec?: { template?: { metadata: { labels: Record<string, string> }; spec: { nodeSelector?: Record<string, string>; tolerations?: { key: string }[] } } } };
    const manifests: [string, Obj[], ImageRequirement[]][] = [
      ['storage', storageManifest() as Obj[], storageImages()],
      ['metrics-server', metricsServerManifest() as Obj[], metricsServerImages()],
      ['dashboard', dashboardManifestOf('docker.io/local-cluster/dashboard:x') as Obj[], [dashboardImageOf()]],
    ];
    for (const [name, objects, images] of manifests) {
      const template = objects.find((o) => o.kind === 'Deployment')!.spec!.template!;
      expect(template.spec.nodeSelector, name).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
      expect(template.spec.tolerations!.map((t) => t.key), name).toContain('node-role.kubernetes.io/control-plane');
      expect(template.metadata.labels[BACKGROUND_LABEL], name).toBe('true');
      for (const image of images) expect(image.loadIntoNodes, `${name}: ${image.ref}`).toBe('control-planes');
    }
    for (const addon of [storage(), metricsServer(), dashboard()]) expect(addon.waitReady, addon.name).toBeUndefined();
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

  it('the dashboard reads the quick checks where e2e leaves them', () => {
    expect(DASHBOARD_CHECKS).toBe(CHECKS_CONFIGMAP);
  });

  it('manifest addons: documents in order (Lists unpacked), the images their workloads run', () => {
    const docs = manifestDocuments(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web}\n  spec:\n    template:\n      spec:\n        initContainers: [{name: i, image: init:1}]\n        containers: [{name: c, image: web:1}, {name: d, image: init:1}]\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: cj}\n  spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: j, image: job:1}]}}}}}\n',
      'x.yaml',
    );
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'Deployment', 'CronJob']);
    expect(manifestImages(docs)).toEqual(['init:1', 'web:1', 'job:1']);
  });

  it('manifest addons: unreadable, unparseable or empty manifests are errors naming the addon and cluster.addons', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-addon-'));
    writeFileSync(join(dir, 'bad.yaml'), 'kind: [unclosed\n');
    writeFileSync(join(dir, 'notk8s.yaml'), 'just: a mapping\n');
    writeFileSync(join(dir, 'empty.yaml'), '---\n');
    writeFileSync(join(dir, 'ok.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec: {template: {spec: {containers: [{name: c, image: mine:1}]}}}\n');
    await expect(loadManifestAddon('missing.yaml', dir)).rejects.toThrow(/Addon missing\.yaml cannot be read: no such file/);
    await expect(loadManifestAddon('bad.yaml', dir)).rejects.toThrow(/Addon bad\.yaml is not valid YAML \(line 2/);
    await expect(loadManifestAddon('notk8s.yaml', dir)).rejects.toThrow(/document 1 is not a Kubernetes object/);
    await expect(loadManifestAddon('empty.yaml', dir)).rejects.toThrow(/holds no Kubernetes objects/);
    // nothing listens on port 1 of this machine: refused at once, and no packet leaves it
    await expect(loadManifestAddon('http://127.0.0.1:1/addon.yaml', dir)).rejects.toThrow(/Addon http:\/\/127\.0\.0\.1:1\/addon\.yaml cannot be fetched/);
    const ok = await loadManifestAddon('ok.yaml', dir);
    expect(ok.images!({} as never)).toEqual([{ ref: 'mine:1' }]);
    const error = await loadManifestAddon('missing.yaml', dir).catch((e: { setting?: string }) => e);
    expect(error).toMatchObject({ setting: 'cluster.addons' });
  });
});
