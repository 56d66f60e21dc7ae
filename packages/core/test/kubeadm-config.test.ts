import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configSchema, DISCOVERY_FILE, discoveryKubeconfig, KUBEADM_PATCHES_DIR, kubeadmPatchFiles, newBootstrapToken, planNodes, renderInitConfig, renderJoinConfig, type ResolvedConfig } from '../src/index.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A config and its node plan, as `up`'s context carries them. */
const planned = (config: ResolvedConfig) => ({ config, plan: planNodes(config) });
const patchFiles = (config: ResolvedConfig) => kubeadmPatchFiles(config, planNodes(config));

function render(overrides: Record<string, unknown> = {}): Doc[] {
  const config = configSchema.parse(overrides);
  return yaml.loadAll(
    renderInitConfig({ ...planned(config), patches: { podSubnet: '10.244.0.0/16', kubeProxy: { mode: 'iptables' } }, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef' }),
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

  it('has kubeadm probe the control plane and CoreDNS every second, without the 10 s startup delay', () => {
    const [init] = render();
    expect(init!.patches).toEqual({ directory: KUBEADM_PATCHES_DIR });
    const files = patchFiles(configSchema.parse({}));
    expect(Object.keys(files).sort()).toEqual(['corednsdeployment+strategic.yaml', 'etcd+strategic.yaml', 'kube-apiserver+strategic.yaml', 'kube-controller-manager+strategic.yaml', 'kube-scheduler+strategic.yaml']);
    const cm = yaml.load(files['kube-controller-manager+strategic.yaml']!) as Doc;
    expect(cm.spec.containers).toEqual([{ name: 'kube-controller-manager', startupProbe: { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 240 } }]);
    const dns = yaml.load(files['corednsdeployment+strategic.yaml']!) as Doc;
    expect(dns.spec.template.spec.containers[0].readinessProbe).toEqual({ periodSeconds: 1 });
  });

  it('points CoreDNS at the API server itself: kube-master, or the load balancer with several control planes', () => {
    const env = (overrides: Record<string, unknown>) => (yaml.load(patchFiles(configSchema.parse(overrides))['corednsdeployment+strategic.yaml']!) as Doc).spec.template.spec.containers[0].env;
    expect(env({ dind: { subnet: '10.193.0.0/16' } })).toEqual([
      { name: 'KUBERNETES_SERVICE_HOST', value: '10.193.0.2' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
    ]);
    // on the control planes, whose kubelets a restore starts first; only preferred when the config taints them
    const affinity = (overrides: Record<string, unknown>) => (yaml.load(patchFiles(configSchema.parse(overrides))['corednsdeployment+strategic.yaml']!) as Doc).spec.template.spec.affinity.nodeAffinity;
    const onControlPlanes = { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] };
    expect(affinity({})).toEqual({ requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [onControlPlanes] } });
    expect(affinity({ cluster: { controlPlane: { taints: ['dedicated=infra:NoSchedule'] } } })).toEqual({ preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: onControlPlanes }] });
    // 3 control planes + 2 workers: the balancer is after the last node
    expect(env({ cluster: { controlPlanes: 3, numNodes: 2 } })[0]).toEqual({ name: 'KUBERNETES_SERVICE_HOST', value: '10.192.0.7' });
  });

  it('shortens the election of a lone etcd member only', () => {
    const [, single] = render();
    expect(single!.etcd.local.extraArgs).toEqual([
      { name: 'heartbeat-interval', value: '25' },
      { name: 'election-timeout', value: '125' },
    ]);
    const [, ha] = render({ cluster: { controlPlanes: 3 } });
    expect(ha!.etcd).toBeUndefined();
  });

  it('runs kube-proxy in the configured mode', () => {
    const config = configSchema.parse({ cluster: { kubeProxyMode: 'nftables' } });
    const docs = yaml.loadAll(renderInitConfig({ ...planned(config), patches: {}, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef' })) as Doc[];
    expect(docs.find((d) => d.kind === 'KubeProxyConfiguration')!.mode).toBe('nftables');
    expect(configSchema.parse({}).cluster.kubeProxyMode).toBe('iptables');
  });

  it('keeps the control-plane taint unless the control plane is to run workloads', () => {
    expect(render({})[0]!.nodeRegistration.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(render({ cluster: { noDedicated: true } })[0]!.nodeRegistration.taints).toEqual([]);
    expect(render({ cluster: { numNodes: 0 } })[0]!.nodeRegistration.taints).toEqual([]);
  });

  it('joins workers by a discovery file (the control plane by name, the cluster CA pinned) and bootstraps TLS with the token', () => {
    const config = configSchema.parse({});
    const join = yaml.load(renderJoinConfig({ ...planned(config), hostname: 'kube-node-1', ip: '10.192.0.3', bootstrapToken: 'abcdef.0123456789abcdef' })) as Doc;
    expect(join.discovery).toEqual({ file: { kubeConfigPath: DISCOVERY_FILE }, tlsBootstrapToken: 'abcdef.0123456789abcdef' });
    expect(join.nodeRegistration.name).toBe('kube-node-1');
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const kubeconfig = yaml.load(discoveryKubeconfig(planNodes(config), pem)) as Doc;
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://kube-master:6443');
    expect(atob(kubeconfig.clusters[0].cluster['certificate-authority-data'])).toBe(pem);
    expect(kubeconfig.users).toEqual([]);
  });

  it('gives feature gates to every component, runtime-config to the API server, and component flags where they belong', () => {
    const [init, cluster, kubelet, proxy] = render({
      cluster: {
        featureGates: { InPlacePodVerticalScaling: true, AnyVolumeDataSource: false },
        runtimeConfig: { 'resource.k8s.io/v1beta1': 'true' },
        componentArgs: { apiServer: { 'audit-log-maxage': 3 }, controllerManager: { 'leader-elect': true }, kubelet: { 'max-pods': '50' } },
      },
    });
    const flags = (list: { name: string; value: string }[]) => Object.fromEntries(list.map((a) => [a.name, a.value]));
    const gates = 'InPlacePodVerticalScaling=true,AnyVolumeDataSource=false';
    expect(flags(cluster!.apiServer.extraArgs)).toEqual({ 'feature-gates': gates, 'runtime-config': 'resource.k8s.io/v1beta1=true', 'audit-log-maxage': '3' });
    // the user's flag wins over ours, and appears once
    expect(cluster!.controllerManager.extraArgs.filter((a: { name: string }) => a.name === 'leader-elect')).toEqual([{ name: 'leader-elect', value: 'true' }]);
    expect(flags(cluster!.scheduler.extraArgs)['feature-gates']).toBe(gates);
    expect(kubelet!.featureGates).toEqual({ InPlacePodVerticalScaling: true, AnyVolumeDataSource: false });
    expect(proxy!.featureGates).toEqual({ InPlacePodVerticalScaling: true, AnyVolumeDataSource: false });
    expect(flags(init!.nodeRegistration.kubeletExtraArgs)).toEqual({ 'node-ip': '10.192.0.2', 'max-pods': '50' });
    const config = configSchema.parse({ cluster: { componentArgs: { kubelet: { 'max-pods': '50' } } } });
    const join = yaml.load(renderJoinConfig({ ...planned(config), hostname: 'kube-node-1', ip: '10.192.0.3', bootstrapToken: 'abcdef.0123456789abcdef' })) as Doc;
    expect(flags(join.nodeRegistration.kubeletExtraArgs)).toEqual({ 'node-ip': '10.192.0.3', 'rotate-certificates': 'false', 'max-pods': '50' });
  });

  it('a joining kubelet bootstraps its client certificate before it starts, unless the user turns rotation back on', () => {
    const flags = (doc: Doc) => Object.fromEntries((doc.nodeRegistration.kubeletExtraArgs as { name: string; value: string }[]).map((a) => [a.name, a.value]));
    const join = (input: unknown) => yaml.load(renderJoinConfig({ ...planned(configSchema.parse(input)), hostname: 'kube-node-1', ip: '10.192.0.3', bootstrapToken: 'abcdef.0123456789abcdef' })) as Doc;
    expect(flags(join({}))['rotate-certificates']).toBe('false');
    expect(flags(join({ cluster: { componentArgs: { kubelet: { 'rotate-certificates': 'true' } } } }))['rotate-certificates']).toBe('true');
    // the first control plane's kubelet.conf comes from kubeadm init: no bootstrap, rotation stays
    const init = yaml.loadAll(renderInitConfig({ ...planned(configSchema.parse({})), patches: {}, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef' }))[0] as Doc;
    expect(flags(init)['rotate-certificates']).toBeUndefined();
    // a joining control plane's kubelet must start its own etcd and API server, which it bootstraps against
    const ha = yaml.load(renderJoinConfig({ ...planned(configSchema.parse({ cluster: { controlPlanes: 3 } })), hostname: 'kube-master-2', ip: '10.192.0.3', bootstrapToken: 'abcdef.0123456789abcdef', certificateKey: 'a'.repeat(64) })) as Doc;
    expect(ha.controlPlane).toBeDefined();
    expect(flags(ha)['rotate-certificates']).toBeUndefined();
  });

  it('adds each node group\'s taints to the nodes of that group', () => {
    const config = configSchema.parse({
      cluster: { controlPlane: { taints: ['dedicated=infra:NoExecute'] }, workers: [{ count: 1 }, { count: 2, taints: ['gpu:NoSchedule'] }] },
    });
    const init = yaml.loadAll(renderInitConfig({ ...planned(config), patches: {}, controlPlaneIp: '10.192.0.2', bootstrapToken: 'abcdef.0123456789abcdef' }))[0] as Doc;
    expect(init.nodeRegistration.taints).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'infra', effect: 'NoExecute' },
    ]);
    const taints = (hostname: string) => (yaml.load(renderJoinConfig({ ...planned(config), hostname, ip: '10.192.0.9', bootstrapToken: 'abcdef.0123456789abcdef' })) as Doc).nodeRegistration.taints;
    expect(taints('kube-node-1')).toEqual([]);
    expect(taints('kube-node-2')).toEqual([{ key: 'gpu', effect: 'NoSchedule' }]);
    expect(taints('kube-node-3')).toEqual([{ key: 'gpu', effect: 'NoSchedule' }]);
  });

  it('applies merge and JSON patches to the documents of their kind, in order', () => {
    const docs = render({
      cluster: {
        kubeadmPatches: [
          { kind: 'KubeletConfiguration', merge: { maxPods: 150, failSwapOn: null } },
          { kind: 'ClusterConfiguration', jsonPatch: [{ op: 'add', path: '/apiServer/certSANs/-', value: 'my.host' }] },
          { kind: 'KubeletConfiguration', jsonPatch: [{ op: 'replace', path: '/maxPods', value: 120 }] },
        ],
      },
    });
    const kubelet = docs.find((d) => d.kind === 'KubeletConfiguration')!;
    expect(kubelet.maxPods).toBe(120);
    expect('failSwapOn' in kubelet).toBe(false);
    expect(kubelet.cgroupDriver).toBe('systemd');
    expect(docs.find((d) => d.kind === 'ClusterConfiguration')!.apiServer.certSANs).toContain('my.host');
  });

  it('refuses a JSON patch that does not apply, naming the patch', () => {
    expect(() => render({ cluster: { kubeadmPatches: [{ kind: 'ClusterConfiguration', jsonPatch: [{ op: 'replace', path: '/nope/deeper', value: 1 }] }] } })).toThrow(
      /cluster\.kubeadmPatches\[0\] \(ClusterConfiguration\) does not apply/,
    );
    expect(() => render({ cluster: { kubeadmPatches: [{ kind: 'ClusterConfiguration', merge: { kind: 'Other' } }] } })).toThrow(/changes the document's kind/);
  });

  it('makes bootstrap tokens of the form kubeadm accepts', () => {
    expect(newBootstrapToken()).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(newBootstrapToken()).not.toBe(newBootstrapToken());
  });
});

describe('kubelet on cgroup v1', () => {
  const kubelet = (version: string) => render({ source: { kubernetesVersion: version } }).find((d) => d.kind === 'KubeletConfiguration')!;
  it('kubelet 1.35+ gets the failCgroupV1 opt-out; 1.34 keeps its default', () => {
    expect(kubelet('v1.36.3').failCgroupV1).toBe(false);
    expect(kubelet('v1.35.4').failCgroupV1).toBe(false);
    expect(kubelet('v1.34.4')).not.toHaveProperty('failCgroupV1');
  });
});
