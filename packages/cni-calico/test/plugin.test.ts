import { describe, expect, it } from 'vitest';
import { isPreflightError, recipeProblems } from '@local-cluster/core';
import { testCniPlugin } from '@local-cluster/core/testing';
import factory, { calico, calicoImages, calicoManifest, CALICO_CNI_IMAGE, CALICO_CONTROLLERS_IMAGE, CALICO_NODE_IMAGE, cniNetworkConfig } from '../src/index.js';

testCniPlugin({ factory, packageName: '@local-cluster/cni-calico' }, { describe, it, expect });

type Obj = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('calico manifest and images', () => {
  const objects = calicoManifest('10.123.0.0/16') as Obj[];
  const ds = objects.find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  const env = (name: string) => pod.containers[0].env.find((e: { name: string }) => e.name === name)?.value;

  it('declares three valid recipes, and the manifests use exactly those images', () => {
    const images = calicoImages();
    expect(images.map((i) => i.ref)).toEqual([CALICO_NODE_IMAGE, CALICO_CNI_IMAGE, CALICO_CONTROLLERS_IMAGE]);
    for (const image of images) expect(recipeProblems(image.recipe)).toEqual([]);
    const deploy = objects.find((o) => o.kind === 'Deployment')!;
    const used = new Set([...pod.initContainers, ...pod.containers, ...deploy.spec.template.spec.containers].map((c: { image: string }) => c.image));
    expect([...used].sort()).toEqual([CALICO_CNI_IMAGE, CALICO_CONTROLLERS_IMAGE, CALICO_NODE_IMAGE].sort());
  });

  it('builds every binary from the release module with its version, the nested modules pinned', () => {
    for (const image of calicoImages()) {
      for (const bin of image.recipe!.go!) {
        expect(bin.ldflags!.join(' ')).toContain('pkg/buildinfo.Version=v3.31.0');
        expect(bin.replace!['github.com/projectcalico/calico/lib/httpmachinery']).toBe('stub');
        expect(bin.sums).toHaveLength(4);
      }
    }
  });

  it('runs VXLAN only (no IPIP, no BGP, no BPF) on the cluster pod subnet, from the node InternalIP', () => {
    expect(objects.find((o) => o.kind === 'ConfigMap')!.data!.calico_backend).toBe('vxlan');
    expect(env('CALICO_IPV4POOL_CIDR')).toBe('10.123.0.0/16');
    expect(env('CALICO_IPV4POOL_VXLAN')).toBe('Always');
    expect(env('CALICO_IPV4POOL_IPIP')).toBe('Never');
    expect(env('FELIX_BPFENABLED')).toBe('false');
    expect(env('IP_AUTODETECTION_METHOD')).toBe('kubernetes-internal-ip');
    // the upstream image's runit services, one container each
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['install-cni', 'startup']);
    expect(pod.containers.map((c: { command: string[] }) => c.command.slice(1).join(' '))).toEqual(['-felix', '-allocate-tunnel-addrs', '-monitor-token']);
    // nothing mounted from host paths these nodes do not have
    expect(pod.volumes.map((v: { hostPath?: { path: string } }) => v.hostPath?.path)).not.toContain('/lib/modules');
  });

  it('writes a CNI config template the installer fills in (MTU as a number)', () => {
    expect(cniNetworkConfig()).toContain('"mtu": __CNI_MTU__');
    expect(cniNetworkConfig()).toContain('"type": "calico-ipam"');
  });

  it('declares NetworkPolicy support and refuses encapsulations this host cannot run', () => {
    expect(calico().supports?.networkPolicy).toBe(true);
    const error = (() => {
      try {
        calico({ encapsulation: 'ipip' as never });
      } catch (e) {
        return e;
      }
    })();
    expect(isPreflightError(error)).toBe(true);
    expect((error as Error).message).toContain('no IPIP');
  });
});

describe('calico in each address family', () => {
  const env = (objects: object[]) => {
    const ds = objects.find((o) => (o as { kind?: string; metadata?: { name?: string } }).kind === 'DaemonSet') as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    return Object.fromEntries(ds.spec.template.spec.containers[0]!.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
  };

  it('dual stack: an IPv6 VXLAN pool, Felix IPv6 support, nodes at their IPv6 InternalIP, IPAM of both families', () => {
    const e = env(calicoManifest('192.168.0.0/16', {}, { podSubnet: 'fd00:10:244::/56', only: false }));
    expect(e).toMatchObject({ IP: 'autodetect', IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'kubernetes-internal-ip', CALICO_IPV6POOL_CIDR: 'fd00:10:244::/56', CALICO_IPV6POOL_VXLAN: 'Always', CALICO_IPV6POOL_NAT_OUTGOING: 'true', FELIX_IPV6SUPPORT: 'true' });
    expect(JSON.parse(cniNetworkConfig({ only: false }).replace('__CNI_MTU__', '0')).plugins[0].ipam).toEqual({ type: 'calico-ipam', assign_ipv4: 'true', assign_ipv6: 'true' });
  });

  it('IPv4 alone: as before (no IPv6 pool, Felix IPv6 off)', () => {
    const e = env(calicoManifest('192.168.0.0/16'));
    expect(e).toMatchObject({ CALICO_IPV6POOL_VXLAN: 'Never', FELIX_IPV6SUPPORT: 'false' });
    expect(e).not.toHaveProperty('IP6');
    expect(JSON.parse(cniNetworkConfig().replace('__CNI_MTU__', '0')).plugins[0].ipam).toEqual({ type: 'calico-ipam' });
  });
});
