import { describe, expect, it } from 'vitest';
import { configSchema, recipeProblems } from '@local-cluster/core';
import { testCniPlugin } from '@local-cluster/core/testing';
import factory, { cniConfig, FLANNEL_CNI_IMAGE, FLANNEL_IMAGE, flannelImages, flannelManifest, netConfig } from '../src/index.js';

testCniPlugin({ factory, packageName: '@local-cluster/cni-flannel' }, { describe, it, expect });

type Obj = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('flannel manifest and images', () => {
  const objects = flannelManifest('10.123.0.0/16') as Obj[];
  const ds = objects.find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;

  it('declares both images as valid recipes, and the manifest uses exactly those images', () => {
    const images = flannelImages();
    expect(images.map((i) => i.ref)).toEqual([FLANNEL_IMAGE, FLANNEL_CNI_IMAGE]);
    for (const image of images) expect(recipeProblems(image.recipe)).toEqual([]);
    const used = new Set([...pod.initContainers, ...pod.containers].map((c: { image: string }) => c.image));
    expect([...used].sort()).toEqual([FLANNEL_CNI_IMAGE, FLANNEL_IMAGE].sort());
    for (const c of [...pod.initContainers, ...pod.containers]) expect(c.imagePullPolicy).toBe('IfNotPresent');
  });

  it('builds flanneld with its version and without the backends that need cgo', () => {
    const flanneld = flannelImages()[0]!.recipe!.go![0]!;
    expect(flanneld.ldflags!.join(' ')).toContain('pkg/version.Version=v0.28.10');
    expect(flanneld.dropImports).toEqual(expect.arrayContaining(['github.com/flannel-io/flannel/pkg/backend/udp']));
    expect(flannelImages()[0]!.recipe!.debianPackages).toContain('iptables');
  });

  it('puts the cluster\'s pod subnet and the vxlan backend into net-conf.json', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(JSON.parse(cm.data!['net-conf.json']!)).toEqual(netConfig('10.123.0.0/16'));
    expect(netConfig('10.123.0.0/16')).toMatchObject({ Network: '10.123.0.0/16', Backend: { Type: 'vxlan' } });
    expect(JSON.parse(cm.data!['cni-conf.json']!)).toEqual(cniConfig());
  });

  it('speaks a CNI version the v0.9.1 flannel plugin supports (it rejects 1.0.0)', () => {
    expect(['0.3.1', '0.4.0']).toContain((cniConfig() as { cniVersion: string }).cniVersion);
  });

  it('runs flanneld on the node network interface, with the subnet manager, on every node', () => {
    const flanneld = pod.containers[0];
    expect(flanneld.args).toEqual(expect.arrayContaining(['--kube-subnet-mgr', '--ip-masq', '--iface=$(POD_IP)']));
    expect(flanneld.env.find((e: { name: string }) => e.name === 'POD_IP').valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.volumes.find((v: { name: string }) => v.name === 'cni-plugin').hostPath.path).toBe('/opt/cni/bin');
  });

  it('grants flanneld what it reads and patches, nothing more', () => {
    const role = objects.find((o) => o.kind === 'ClusterRole') as unknown as { rules: { resources: string[]; verbs: string[] }[] };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ]);
  });

  it('hands kubeadm the pod subnet it configures', () => {
    expect(factory({ podSubnet: '10.50.0.0/16' }).configure!(configSchema.parse({}))).toEqual({ podSubnet: '10.50.0.0/16' });
  });
});

describe('flannel in each address family', () => {
  it('dual stack: both networks; IPv6 alone: IPv4 off', () => {
    expect(netConfig('10.244.0.0/16', {}, { podSubnet: 'fd00:10:244::/56', only: false })).toMatchObject({ Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:10:244::/56' });
    const six = netConfig('10.244.0.0/16', {}, { podSubnet: 'fd00:10:244::/56', only: true }) as Record<string, unknown>;
    expect(six).toMatchObject({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56' });
    expect(six).not.toHaveProperty('Network');
    expect(netConfig('10.244.0.0/16')).not.toHaveProperty('EnableIPv6');
    expect(factory().supports?.ipFamilies).toEqual(['ipv4', 'ipv6']);
  });
});
