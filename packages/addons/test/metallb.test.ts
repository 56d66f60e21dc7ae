import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { configSchema, nthAddress, recipeProblems } from '@local-cluster/core';
import { crdsFromYaml, metallb, metallbCrds, metallbImages, metallbManifest, metallbPool, metallbPoolManifest, METALLB_CONTROLLER_IMAGE, METALLB_NAMESPACE, METALLB_POOL_NAME, METALLB_POOL_SIZE, METALLB_SPEAKER_IMAGE } from '../src/metallb.js';
import * as index from '../src/index.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };
type PodSpec = {
  hostNetwork?: boolean;
  tolerations?: { key: string }[];
  containers: { image: string; args: string[]; securityContext: { capabilities: { add?: string[] } } }[];
};
const podSpec = (o: Obj) => (o.spec as { template: { spec: PodSpec } }).template.spec;

describe('metallb addon', () => {
  it('conforms to the Addon contract and is exported from the package root', () => {
    expect(checkAddon(metallb())).toEqual([]);
    expect(index.metallb).toBe(metallb);
    expect(index.metallbPool).toBe(metallbPool);
  });

  it('pool: the last usable addresses of the Docker network, before its broadcast address', () => {
    expect(metallbPool('10.192.0.0/16')).toBe('10.192.255.239-10.192.255.254');
    expect(metallbPool('10.218.0.0/16')).toBe('10.218.255.239-10.218.255.254');
    expect(metallbPool('172.30.4.0/24')).toBe('172.30.4.239-172.30.4.254');
    expect(metallbPool('10.218.16.0/20')).toBe('10.218.31.239-10.218.31.254');
    expect(metallbPool('10.0.0.0/8')).toBe('10.255.255.239-10.255.255.254');
    // the default subnet's pool starts far above the node addresses (.2 upward)
    const config = configSchema.parse({});
    expect(metallbPool(config.dind.subnet)).toBe('10.192.255.239-10.192.255.254');
    const [first, last] = metallbPool('10.192.0.0/16').split('-');
    expect(Number(last!.split('.')[3]) - Number(first!.split('.')[3]) + 1).toBe(METALLB_POOL_SIZE);
    expect(first).not.toBe(nthAddress('10.192.0.0/16', 2));
    expect(() => metallbPool('10.192.0.0')).toThrow(/CIDR/);
    expect(() => metallbPool('10.192.0.0/28')).toThrow(/too small/);
  });

  it('pool manifest: an IPAddressPool and an L2Advertisement of it, in metallb-system', () => {
    const [pool, l2] = metallbPoolManifest('10.218.0.0/16') as Obj[];
    expect(pool).toMatchObject({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: METALLB_POOL_NAME, namespace: METALLB_NAMESPACE }, spec: { addresses: ['10.218.255.239-10.218.255.254'] } });
    expect(l2).toMatchObject({ kind: 'L2Advertisement', metadata: { namespace: METALLB_NAMESPACE }, spec: { ipAddressPools: [METALLB_POOL_NAME] } });
    expect(METALLB_POOL_NAME).toBe('local-cluster');
    expect(METALLB_NAMESPACE).toBe('metallb-system');
  });

  it('images: controller and speaker under upstream\'s names, built from the module with its version variables', () => {
    const images = metallbImages();
    expect(images.map((i) => i.ref)).toEqual([METALLB_CONTROLLER_IMAGE, METALLB_SPEAKER_IMAGE]);
    expect(METALLB_CONTROLLER_IMAGE).toBe('quay.io/metallb/controller:v0.15.2');
    for (const image of images) {
      expect(recipeProblems(image.recipe!)).toEqual([]);
      const go = image.recipe!.go![0]!;
      expect(go).toMatchObject({ module: 'go.universe.tf/metallb', version: 'v0.15.2', dir: '/' });
      expect(image.recipe!.entrypoint).toEqual([`/${go.binary}`]);
      expect(go.ldflags!.join(' ')).toMatch(/go\.universe\.tf\/metallb\/internal\/version\.gitCommit=[0-9a-f]{40}/);
    }
  });

  it('manifest: no webhooks; the speakers announce from the host network on every node', () => {
    const objects = metallbManifest() as Obj[];
    expect(objects.map((o) => o.kind)).not.toContain('ValidatingWebhookConfiguration');
    expect(objects.filter((o) => o.kind === 'Service')).toEqual([]);
    const controller = podSpec(objects.find((o) => o.kind === 'Deployment')!);
    expect(controller.containers[0]!.image).toBe(METALLB_CONTROLLER_IMAGE);
    expect(controller.containers[0]!.args).toEqual(expect.arrayContaining(['--webhook-mode=disabled', '--disable-cert-rotation']));
    const speaker = podSpec(objects.find((o) => o.kind === 'DaemonSet')!);
    expect(speaker.hostNetwork).toBe(true);
    expect(speaker.containers[0]!.image).toBe(METALLB_SPEAKER_IMAGE);
    expect(speaker.containers[0]!.args).toContain('--ignore-exclude-lb');
    expect(speaker.containers[0]!.securityContext.capabilities.add).toEqual(['NET_RAW']);
    expect(speaker.tolerations!.map((t) => t.key)).toContain('node-role.kubernetes.io/control-plane');
    for (const o of objects) if (o.kind !== 'Namespace' && !o.kind.startsWith('Cluster')) expect(o.metadata.namespace).toBe(METALLB_NAMESPACE);
  });

  it('CRDs: conversion webhooks are stripped', () => {
    const crds = crdsFromYaml([
      '---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.metallb.io}\nspec:\n  group: metallb.io\n  conversion:\n    strategy: Webhook\n    webhook: {clientConfig: {service: {name: metallb-webhook-service, namespace: metallb-system}}}\n',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: b.metallb.io}\nspec: {group: metallb.io, conversion: {strategy: None}}\n',
    ]);
    expect(crds.map((c) => c.metadata.name)).toEqual(['a.metallb.io', 'b.metallb.io']);
    expect(crds[0]!.spec.conversion).toBeUndefined();
    expect(crds[1]!.spec.conversion).toEqual({ strategy: 'None' });
  });

  it('reads the release\'s CRDs from its module (module proxy): every type the controller and speaker watch', async () => {
    const crds = (await metallbCrds()) as Obj[];
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      'bfdprofiles.metallb.io',
      'bgpadvertisements.metallb.io',
      'bgppeers.metallb.io',
      'communities.metallb.io',
      'ipaddresspools.metallb.io',
      'l2advertisements.metallb.io',
      'servicebgpstatuses.metallb.io',
      'servicel2statuses.metallb.io',
    ]);
    for (const crd of crds) expect(JSON.stringify(crd)).not.toContain('Webhook');
  }, 120_000);
});

describe('MetalLB pools per address family', () => {
  it('a dual-stack cluster gets an IPv4 and an IPv6 range; an IPv6 one the IPv6 range alone', async () => {
    const { metallbPool6 } = await import('../src/metallb.js');
    expect(metallbPool6('fd00:10:241::/64')).toBe('fd00:10:241::ff00-fd00:10:241::ff0f');
    const pool = (docs: object[]) => (docs[0] as { spec: { addresses: string[] } }).spec.addresses;
    expect(pool(metallbPoolManifest('10.241.0.0/16'))).toEqual(['10.241.255.239-10.241.255.254']);
    expect(pool(metallbPoolManifest('10.241.0.0/16', { subnet6: 'fd00:10:241::/64', only: false }))).toEqual(['10.241.255.239-10.241.255.254', 'fd00:10:241::ff00-fd00:10:241::ff0f']);
    expect(pool(metallbPoolManifest('10.242.0.0/16', { subnet6: 'fd00:10:242::/64', only: true }))).toEqual(['fd00:10:242::ff00-fd00:10:242::ff0f']);
  });
});
