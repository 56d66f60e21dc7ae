import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformanceImages } from '../../src/conformance/images.js';
import { parseImageManifest } from '../../src/conformance/manifest.js';
import { e2eBinaries, pinnedGinkgo } from '../../src/conformance/binaries.js';
import { goBinaryProblems, goModuleDir, kubernetesRelease, recipeProblems } from '@local-cluster/core';

const MANIFEST = `
	initRegistry = RegistryList{
		GcAuthenticatedRegistry: "gcr.io/authenticated-image-pulling",
		PromoterE2eRegistry:     "registry.k8s.io/e2e-test-images",
		InvalidRegistry:         "invalid.registry.k8s.io/invalid",
		GcEtcdRegistry:          "registry.k8s.io",
		GcRegistry:              "registry.k8s.io",
		PrivateRegistry:          "gcr.io/k8s-authenticated-test",
	}
func initImageConfigs(list RegistryList) (map[ImageID]Config, map[ImageID]Config) {
	configs[Agnhost] = Config{list.PromoterE2eRegistry, "agnhost", "2.56"}
	configs[AgnhostPrivate] = Config{list.PrivateRegistry, "agnhost", "2.6"}
	configs[Etcd] = Config{list.GcEtcdRegistry, "etcd", "3.6.4-0"}
	configs[InvalidRegistryImage] = Config{list.InvalidRegistry, "alpine", "3.1"}
	configs[Pause] = Config{list.GcRegistry, "pause", "3.10.1"}
	configs[Perl] = Config{list.PromoterE2eRegistry, "perl", "5.26"}
`;

describe('the suite image table (manifest.go)', () => {
  const images = parseImageManifest(MANIFEST);

  it('reads each image ID with its registry, name and version', () => {
    expect(images.map((i) => `${i.id}=${i.ref}`)).toEqual([
      'Agnhost=registry.k8s.io/e2e-test-images/agnhost:2.56',
      'AgnhostPrivate=gcr.io/k8s-authenticated-test/agnhost:2.6',
      'Etcd=registry.k8s.io/etcd:3.6.4-0',
      'InvalidRegistryImage=invalid.registry.k8s.io/invalid/alpine:3.1',
      'Pause=registry.k8s.io/pause:3.10.1',
      'Perl=registry.k8s.io/e2e-test-images/perl:5.26',
    ]);
  });

  it('builds only the conformance images: never the private-registry or invalid-registry ones, not pause (on the nodes)', () => {
    const { needed, unbuildable } = conformanceImages(images, 'v1.34.4');
    expect(needed.map((n) => n.image.ref)).toEqual(['registry.k8s.io/e2e-test-images/agnhost:2.56', 'registry.k8s.io/etcd:3.6.4-0']);
    expect(unbuildable.map((i) => i.id)).toEqual(['AgnhostPrivate', 'InvalidRegistryImage', 'Pause', 'Perl']);
    for (const n of needed) expect(recipeProblems(n.image.recipe)).toEqual([]);
    const etcd = needed[1]!.image.recipe!.go![0]!;
    expect(etcd).toMatchObject({ module: 'go.etcd.io/etcd/server/v3', version: 'v3.6.4', inTreeReplacesAt: 'v3.6.4' });
  });

  it('reads the real v1.34.4 table (from the module proxy): every conformance image has a recipe', async () => {
    const dir = await goModuleDir('k8s.io/kubernetes', 'v1.34.4');
    const { needed } = conformanceImages(parseImageManifest(readFileSync(join(dir, 'test/utils/image/manifest.go'), 'utf8')), 'v1.34.4');
    expect(needed.map((n) => n.image.ref).sort()).toEqual([
      'registry.k8s.io/e2e-test-images/agnhost:2.56',
      'registry.k8s.io/e2e-test-images/busybox:1.37.0-1',
      'registry.k8s.io/e2e-test-images/httpd:2.4.38-4',
      'registry.k8s.io/e2e-test-images/httpd:2.4.39-4',
      'registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7',
      'registry.k8s.io/e2e-test-images/kitten:1.7',
      'registry.k8s.io/e2e-test-images/nautilus:1.7',
      'registry.k8s.io/e2e-test-images/nginx:1.14-4',
      'registry.k8s.io/e2e-test-images/nginx:1.15-4',
      'registry.k8s.io/e2e-test-images/nonewprivs:1.3',
      'registry.k8s.io/e2e-test-images/sample-apiserver:1.29.2',
      'registry.k8s.io/etcd:3.6.4-0',
    ]);
  }, 300_000);
});

describe('e2e binaries', () => {
  it('maps a release to its staging module version', () => {
    expect(kubernetesRelease('v1.34.4')).toEqual({ minor: '34', staging: 'v0.34.4' });
    expect(() => kubernetesRelease('1.34')).toThrow(/not a Kubernetes release/);
  });

  it('builds e2e.test as a test binary of k8s.io/kubernetes with the staging modules at the matching version, and the pinned ginkgo', () => {
    const goMod = 'require (\n\tgithub.com/onsi/ginkgo/v2 v2.21.0\n\tgithub.com/onsi/gomega v1.35.1\n)\n';
    expect(pinnedGinkgo(goMod)).toBe('v2.21.0');
    const [e2e, ginkgo] = e2eBinaries('v1.34.4', goMod);
    expect(e2e).toMatchObject({ module: 'k8s.io/kubernetes', version: 'v1.34.4', package: 'test/e2e', binary: 'e2e.test', test: true, inTreeReplacesAt: 'v0.34.4' });
    expect(e2e!.ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.34.4');
    expect(ginkgo).toMatchObject({ module: 'github.com/onsi/ginkgo/v2', version: 'v2.21.0', package: 'ginkgo' });
    for (const b of [e2e, ginkgo]) expect(goBinaryProblems(b)).toEqual([]);
    expect(() => e2eBinaries('v1.34.4', 'module x\n')).toThrow(/pins no github.com\/onsi\/ginkgo/);
  });
});
