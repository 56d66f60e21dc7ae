import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configSchema, newBootstrapToken, renderInitConfig, renderJoinConfig } from '../src/index.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function render(overrides: Record<string, unknown> = {}, untaint = false): Doc[] {
  const config = configSchema.parse(overrides);
  return yaml.loadAll(
    renderInitConfig({ config, patches: { podSubnet: '10.244.0.0/16', kubeProxy: { mode: 'iptables' } }, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef', untaintControlPlane: untaint }),
  ) as Doc[];
}

describe('kubeadm config', () => {
  it('pins the Kubernetes version, never pulls, and carries the CNI pod subnet', () => {
    const [init, cluster, kubelet, proxy] = render({ cluster: { name: 'dev' } });
    expect(init!.kind).toBe('InitConfiguration');
    expect(init!.nodeRegistration.imagePullPolicy).toBe('Never');
    expect(init!.localAPIEndpoint.advertiseAddress).toBe('10.192.0.2');
    expect(cluster!.kubernetesVersion).toBe(configSchema.parse({}).source.kubernetesVersion);
    expect(cluster!.clusterName).toBe('dev');
    expect(cluster!.networking.podSubnet).toBe('10.244.0.0/16');
    expect(cluster!.apiServer.certSANs).toEqual(expect.arrayContaining(['127.0.0.1', 'localhost', 'kube-master']));
    expect(kubelet!.cgroupDriver).toBe('systemd');
    expect(proxy!.kind).toBe('KubeProxyConfiguration');
    expect(proxy!.mode).toBe('iptables');
  });

  it('runs kube-proxy in the configured mode', () => {
    const config = configSchema.parse({ cluster: { kubeProxyMode: 'nftables' } });
    const docs = yaml.loadAll(renderInitConfig({ config, patches: {}, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef', untaintControlPlane: false })) as Doc[];
    expect(docs.find((d) => d.kind === 'KubeProxyConfiguration')!.mode).toBe('nftables');
    expect(configSchema.parse({}).cluster.kubeProxyMode).toBe('iptables');
  });

  it('keeps the control-plane taint unless the control plane is to run workloads', () => {
    expect(render({}, false)[0]!.nodeRegistration.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(render({}, true)[0]!.nodeRegistration.taints).toEqual([]);
  });

  it('joins workers by token to the control plane by name', () => {
    const join = yaml.load(renderJoinConfig({ hostname: 'kube-node-1', ip: '10.192.0.3', bootstrapToken: 'abcdef.0123456789abcdef', patches: {} })) as Doc;
    expect(join.discovery.bootstrapToken).toMatchObject({ apiServerEndpoint: 'kube-master:6443', token: 'abcdef.0123456789abcdef' });
    expect(join.nodeRegistration.name).toBe('kube-node-1');
  });

  it('makes bootstrap tokens of the form kubeadm accepts', () => {
    expect(newBootstrapToken()).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(newBootstrapToken()).not.toBe(newBootstrapToken());
  });
});
