import { describe, expect, it } from 'vitest';
import { configSchema } from '@local-cluster/core';
import { testCniPlugin } from '@local-cluster/core/testing';
import factory, { WEAVE_KUBE_IMAGE, WEAVE_NPC_IMAGE, WEAVE_UNAVAILABLE, weaveImages, weaveManifest } from '../src/index.js';

testCniPlugin({ factory, packageName: '@local-cluster/cni-weave' }, { describe, it, expect });

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: any; rules?: any[]; roleRef?: any; subjects?: any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Container = { name: string; image: string; imagePullPolicy: string; command?: string[]; args?: string[]; env?: { name: string; value?: string; valueFrom?: any }[]; securityContext?: any; volumeMounts: { name: string; mountPath: string }[] }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('weave manifest and images', () => {
  const objects = weaveManifest('10.123.0.0/16') as Obj[];
  const ds = objects.find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  const container = (name: string): Container => [...pod.initContainers, ...pod.containers].find((c: Container) => c.name === name);
  const env = (c: Container, name: string) => c.env?.find((e) => e.name === name);

  it('writes ServiceAccount, ClusterRole/Binding, Role/Binding, the peer list\'s ConfigMap and the DaemonSet, all named weave-net in kube-system', () => {
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ConfigMap', 'DaemonSet']);
    for (const o of objects) expect(o.metadata.name).toBe('weave-net');
    for (const o of objects.filter((o) => !o.kind.startsWith('Cluster'))) expect(o.metadata.namespace).toBe('kube-system');
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'weave-net', namespace: 'kube-system' }]);
      expect(binding.roleRef.name).toBe('weave-net');
    }
  });

  it('runs weave-init and weave from weave-kube and weave-npc from weave-npc, exactly the declared images, never pulled', () => {
    expect(weaveImages().map((i) => i.ref)).toEqual(['docker.io/weaveworks/weave-kube:2.8.1', 'docker.io/weaveworks/weave-npc:2.8.1']);
    expect(container('weave-init').image).toBe(WEAVE_KUBE_IMAGE);
    expect(container('weave').image).toBe(WEAVE_KUBE_IMAGE);
    expect(container('weave-npc').image).toBe(WEAVE_NPC_IMAGE);
    for (const c of [...pod.initContainers, ...pod.containers]) expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(container('weave-init').command!.at(-1)).toMatch(/exec \/home\/weave\/init\.sh$/);
    expect(container('weave').command).toEqual(['/home/weave/launch.sh']);
  });

  it('allocates pod addresses from the cluster\'s pod subnet, in sleeve mode, without a password or a version check leaving the machine', () => {
    const weave = container('weave');
    expect(env(weave, 'IPALLOC_RANGE')?.value).toBe('10.123.0.0/16');
    expect(env(weave, 'WEAVE_NO_FASTDP')?.value).toBe('1');
    expect(env(weave, 'INIT_CONTAINER')?.value).toBe('true');
    expect(env(weave, 'CHECKPOINT_DISABLE')?.value).toBe('1');
    expect(env(weave, 'HOSTNAME')?.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(weave.env!.map((e) => e.name)).not.toContain('WEAVE_PASSWORD');
    expect(weave.env!.map((e) => e.name)).not.toContain('EXPECT_NPC');
    expect(weaveManifest('10.50.0.0/16').some((o) => JSON.stringify(o).includes('"IPALLOC_RANGE","value":"10.50.0.0/16"'))).toBe(true);
  });

  it('takes away the node\'s unreachable route for the pod subnet before weave checks its range is free', () => {
    const init = container('weave-init');
    expect(init.command).toEqual(['/bin/sh', '-c', 'ip route del unreachable "$IPALLOC_RANGE" 2>/dev/null || true; exec /home/weave/init.sh']);
    expect(env(init, 'IPALLOC_RANGE')?.value).toBe('10.123.0.0/16');
  });

  it('runs weave-npc beside weave and lets it read NetworkPolicies, pods and namespaces', () => {
    const npc = container('weave-npc');
    expect(npc.securityContext).toEqual({ privileged: true });
    expect(env(npc, 'HOSTNAME')?.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(npc.volumeMounts.map((m) => m.mountPath)).toEqual(['/run/xtables.lock']);
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toContainEqual({ apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] });
    expect(role.rules).toContainEqual({ apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] });
    expect(role.rules).toContainEqual({ apiGroups: [''], resources: ['nodes/status'], verbs: ['patch', 'update'] });
    expect(factory().supports?.networkPolicy).toBe(true);
  });

  it('installs the CNI plugin and its config on the node\'s own paths, and keeps the peer name\'s sources read-only', () => {
    expect(pod.hostNetwork).toBe(true);
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string; hostPath: { path: string } }) => [v.name, v.hostPath.path]));
    expect(volumes).toMatchObject({ 'cni-bin': '/opt/cni/bin', 'cni-conf': '/etc/cni/net.d', weavedb: '/var/lib/weave', 'machine-id': '/etc/machine-id' });
    expect(container('weave-init').volumeMounts.map((m) => m.mountPath)).toEqual(['/host/opt/cni/bin', '/host/etc/cni/net.d', '/run/xtables.lock']);
    expect(container('weave').volumeMounts.find((m) => m.name === 'machine-id')).toMatchObject({ mountPath: '/host/etc/machine-id', readOnly: true });
    expect(pod.tolerations).toEqual(expect.arrayContaining([{ operator: 'Exists', effect: 'NoSchedule' }]));
  });

  it('declares no recipe and says why, naming the missing modules and that loading the images works', () => {
    for (const image of weaveImages()) {
      expect(image.recipe).toBeUndefined();
      expect(image.whyNoRecipe).toBe(WEAVE_UNAVAILABLE);
    }
    for (const module of ['github.com/weaveworks/mesh', 'go-odp', 'go-checkpoint', 'weaveworks/common', 'andybalholm/go-bit', 'mdlayher/raw', 'docker/libnetwork']) {
      expect(WEAVE_UNAVAILABLE).toContain(module);
    }
    expect(WEAVE_UNAVAILABLE).toContain(`Load ${WEAVE_KUBE_IMAGE} and ${WEAVE_NPC_IMAGE} into the engine`);
  });

  it('hands kubeadm the pod subnet, weave\'s own 10.32.0.0/12 by default', () => {
    expect(factory().configure!(configSchema.parse({}))).toEqual({ podSubnet: '10.32.0.0/12' });
    expect(factory({ podSubnet: '10.50.0.0/16' }).configure!(configSchema.parse({}))).toEqual({ podSubnet: '10.50.0.0/16' });
  });

  it('applies the manifest with the cluster\'s pod subnet and waits for the DaemonSet with the settle window', async () => {
    const applied: unknown[] = [];
    const waited: unknown[] = [];
    const ctx = {
      podSubnet: '10.77.0.0/16',
      apply: async (m: unknown) => void applied.push(m),
      waitForRollout: async (...args: unknown[]) => void waited.push(args),
    };
    const plugin = factory();
    await plugin.install!(ctx as never);
    await plugin.waitReady!(ctx as never);
    expect(applied).toEqual([weaveManifest('10.77.0.0/16')]);
    expect(waited).toEqual([['daemonset', 'kube-system', 'weave-net', { timeoutSeconds: 240 }]]);
  });
});
