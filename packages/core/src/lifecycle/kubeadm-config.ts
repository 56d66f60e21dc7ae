import yaml from 'js-yaml';
import type { ResolvedConfig } from '../config/schema.js';
import type { KubeadmPatches } from '../contracts/cni.js';
import { API_SERVER_PORT, CONTROL_PLANE_HOSTNAME } from './naming.js';

export const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
export const SERVICE_SUBNET = '10.96.0.0/12';

/**
 * Preflight checks that cannot pass inside a container: no kernel modules to
 * load, swap and system verification belong to the host. kubeadm still runs
 * every other check.
 */
export const IGNORED_PREFLIGHT_ERRORS = ['SystemVerification', 'Swap', 'FileContent--proc-sys-net-bridge-bridge-nf-call-iptables', 'NumCPU', 'Mem'];

export interface KubeadmRenderInput {
  config: ResolvedConfig;
  patches: KubeadmPatches;
  controlPlaneIp: string;
  bootstrapToken: string;
  /** Remove the control plane's NoSchedule taint. */
  untaintControlPlane: boolean;
}

const args = (record: Record<string, string>) => Object.entries(record).map(([name, value]) => ({ name, value }));

function kubeletConfiguration(patches: KubeadmPatches): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    failSwapOn: false,
    // nodes share the host's disk: do not evict pods because the host is full-ish
    evictionHard: { 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    // nothing can be pulled; never ask a registry
    serializeImagePulls: false,
    ...patches.kubelet,
  };
}

/** The kubeadm config for `kubeadm init` on the control plane. */
export function renderInitConfig(input: KubeadmRenderInput): string {
  const { config, patches } = input;
  const podSubnet = patches.podSubnet;
  const docs: Record<string, unknown>[] = [
    {
      apiVersion: KUBEADM_API,
      kind: 'InitConfiguration',
      bootstrapTokens: [{ token: input.bootstrapToken, ttl: '0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
      localAPIEndpoint: { advertiseAddress: input.controlPlaneIp, bindPort: API_SERVER_PORT },
      nodeRegistration: {
        name: CONTROL_PLANE_HOSTNAME,
        criSocket: CRI_SOCKET,
        kubeletExtraArgs: args({ 'node-ip': input.controlPlaneIp }),
        ignorePreflightErrors: IGNORED_PREFLIGHT_ERRORS,
        imagePullPolicy: 'Never',
        taints: input.untaintControlPlane ? [] : [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      },
    },
    {
      apiVersion: KUBEADM_API,
      kind: 'ClusterConfiguration',
      clusterName: config.cluster.name,
      kubernetesVersion: config.source.kubernetesVersion,
      controlPlaneEndpoint: `${CONTROL_PLANE_HOSTNAME}:${API_SERVER_PORT}`,
      networking: { serviceSubnet: SERVICE_SUBNET, dnsDomain: 'cluster.local', ...(podSubnet ? { podSubnet } : {}) },
      apiServer: { certSANs: ['localhost', '127.0.0.1', CONTROL_PLANE_HOSTNAME, input.controlPlaneIp] },
      // one control-plane node: no leader election, so a restored control plane acts at
      // once instead of waiting for its previous instance's lease to expire
      controllerManager: {
        extraArgs: args({
          'bind-address': '0.0.0.0',
          'leader-elect': 'false',
          ...(podSubnet ? { 'allocate-node-cidrs': 'true' } : {}),
          ...patches.controllerManagerArgs,
        }),
      },
      scheduler: { extraArgs: args({ 'bind-address': '0.0.0.0', 'leader-elect': 'false' }) },
    },
    kubeletConfiguration(patches),
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: config.cluster.kubeProxyMode,
      // nf_conntrack_max cannot be set from inside a container
      conntrack: { maxPerCore: 0 },
      ...(podSubnet ? { clusterCIDR: podSubnet } : {}),
      ...patches.kubeProxy,
    },
  ];
  return docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');
}

/** The kubeadm config for `kubeadm join` on a worker. */
export function renderJoinConfig(input: { hostname: string; ip: string; bootstrapToken: string; patches: KubeadmPatches }): string {
  return yaml.dump(
    {
      apiVersion: KUBEADM_API,
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: {
          apiServerEndpoint: `${CONTROL_PLANE_HOSTNAME}:${API_SERVER_PORT}`,
          token: input.bootstrapToken,
          // the CA is on a private network we created; nodes trust it like kind's do
          unsafeSkipCAVerification: true,
        },
      },
      nodeRegistration: {
        name: input.hostname,
        criSocket: CRI_SOCKET,
        kubeletExtraArgs: args({ 'node-ip': input.ip }),
        ignorePreflightErrors: IGNORED_PREFLIGHT_ERRORS,
        imagePullPolicy: 'Never',
      },
    },
    { noRefs: true, lineWidth: -1 },
  );
}

/** A random bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}. */
export function newBootstrapToken(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(random(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}
