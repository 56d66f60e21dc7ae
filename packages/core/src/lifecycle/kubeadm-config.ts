import yaml from 'js-yaml';
import jsonpatch from 'fast-json-patch';
import type { Component, ResolvedConfig } from '../config/schema.js';
import type { CniPlugin, KubeadmPatches } from '../contracts/cni.js';
import { ConfigError } from '../errors.js';
import { kubeletFailsCgroupV1 } from '../config/kubernetes-versions.js';
import { nodeMonitorGraceSeconds } from './fake-nodes.js';
import { API_SERVER_PORT, CONTROL_PLANE_HOSTNAME } from './naming.js';
import { parseTaint, plannedNode, type NodePlan } from './node-plan.js';
import { podRanges, serviceRanges } from '../config/ip-family.js';

/**
 * The addresses of a node in each family of the cluster, primary first: its IPv4 address on the
 * Docker network, its IPv6 one (the plan's), or both (kubelet's --node-ip takes "v4,v6").
 */
export function nodeIps(config: ResolvedConfig, plan: NodePlan, hostname: string, ip: string): string[] {
  const ip6 = plannedNode(plan, hostname)?.address6;
  const family = config.cluster.ipFamily;
  if (family === 'ipv4' || !ip6) return [ip];
  return family === 'ipv6' ? [ip6] : [ip, ip6];
}

export const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
export { SERVICE_SUBNET } from '../config/schema.js';

/**
 * Preflight checks that cannot pass inside a container: no kernel modules to
 * load, swap and system verification belong to the host. kubeadm still runs
 * every other check.
 */
export const IGNORED_PREFLIGHT_ERRORS = ['SystemVerification', 'Swap', 'FileContent--proc-sys-net-bridge-bridge-nf-call-iptables', 'NumCPU', 'Mem'];

export interface KubeadmRenderInput {
  config: ResolvedConfig;
  /** The config's node plan (whether control planes are schedulable, the load balancer, the other control planes). */
  plan: NodePlan;
  patches: KubeadmPatches;
  controlPlaneIp: string;
  bootstrapToken: string;
  /** With several control planes: the key `kubeadm init --upload-certs` encrypts the shared certificates with. */
  certificateKey?: string;
  /** The address clients reach the API server at from the host (cluster.apiServerAddress, a remote engine's host), put in its certificate. */
  apiServerAddress?: string;
}

/** Where nodes and kubeconfigs reach the API: the load balancer with several control planes, else kube-master. */
export function controlPlaneEndpoint(plan: NodePlan): string {
  return `${plan.loadBalancer?.hostname ?? CONTROL_PLANE_HOSTNAME}:${API_SERVER_PORT}`;
}

const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** Where the control planes keep the patches kubeadm applies to what it generates (its `patches.directory`). */
export const KUBEADM_PATCHES_DIR = '/etc/local-cluster/kubeadm-patches';

/**
 * kubeadm's own patches (file name: target+strategic.yaml): every static pod's startup probe
 * waits 10 s before its first try and then tries every 10 s, and no container is Ready before
 * its startup probe passes; CoreDNS is probed for readiness every 10 s, its first try a random
 * part of that after a kubelet start. On a restored cluster every one of them restarts, so
 * these periods, not the components, set how long `up` waits: probed every second instead
 * (the same 4 minutes of startup failures allowed).
 *
 * CoreDNS also talks to the API server at its address (the plan's apiEndpointAddress) instead of the
 * `kubernetes` Service's: through the Service it waited for kube-proxy's first rules on its node,
 * then for its own list retries to back off (1.2-1.5 s of every restore). Its certificate names
 * that address; kube-proxy (or a CNI replacing it) is still checked by the Service tests.
 */
export function kubeadmPatchFiles(config: ResolvedConfig, plan: NodePlan): Record<string, string> {
  const files: Record<string, string> = {};
  for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    files[`${component}+strategic.yaml`] = yaml.dump({ spec: { containers: [{ name: component, startupProbe: { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 240 } }] } });
  }
  const env = [
    { name: 'KUBERNETES_SERVICE_HOST', value: plan.apiEndpointAddress },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(API_SERVER_PORT) },
  ];
  // CoreDNS runs on the control plane(s) (kubeadm's CoreDNS tolerates their taint): a restored
  // control plane's kubelet runs from the start, while a worker's waits for the API server and
  // then a second more for its Node (the kubelet looks once a second), so CoreDNS on a worker
  // was Ready a second later. Required, since the first node Ready after a fresh `up` takes both
  // replicas whatever they prefer; only preferred when the config taints the control planes
  // (CoreDNS would not tolerate those taints and could run nowhere).
  const onControlPlanes = [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }];
  const nodeAffinity = (config.cluster.controlPlane?.taints ?? []).length === 0
    ? { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: onControlPlanes } }
    : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: onControlPlanes[0] }] };
  files['corednsdeployment+strategic.yaml'] = yaml.dump({ spec: { template: { spec: { affinity: { nodeAffinity }, containers: [{ name: 'coredns', readinessProbe: { periodSeconds: 1 }, env }] } } } });
  return files;
}

const args = (record: Record<string, string>) => Object.entries(record).map(([name, value]) => ({ name, value }));

type Doc = Record<string, unknown>;

/** cluster.featureGates as a flag value: A=true,B=false. */
export function featureGatesFlag(config: ResolvedConfig): Record<string, string> {
  const gates = Object.entries(config.cluster.featureGates);
  return gates.length ? { 'feature-gates': gates.map(([k, v]) => `${k}=${v}`).join(',') } : {};
}

/**
 * The flags a component gets from the config: feature gates (and, for the API server,
 * runtime-config), then cluster.componentArgs, which win over ours.
 */
/** cluster.runtimeConfig as the API server's flag: api/alpha=true,... */
export function runtimeConfigFlag(config: ResolvedConfig): Record<string, string> {
  const runtime = Object.entries(config.cluster.runtimeConfig);
  return runtime.length ? { 'runtime-config': runtime.map(([k, v]) => `${k}=${v}`).join(',') } : {};
}

export function componentFlags(config: ResolvedConfig, component: Component): Record<string, string> {
  return {
    ...(component === 'kubelet' ? {} : featureGatesFlag(config)),
    ...(component === 'apiServer' ? runtimeConfigFlag(config) : {}),
    ...(config.cluster.componentArgs[component] ?? {}),
  };
}

function kubeletConfiguration(config: ResolvedConfig, patches: KubeadmPatches): Doc {
  const gates = config.cluster.featureGates;
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
    // kubelet 1.35+ refuses cgroup v1 hosts unless told otherwise (no effect on cgroup v2)
    ...(kubeletFailsCgroupV1(config.source.kubernetesVersion) ? { failCgroupV1: false } : {}),
    ...(Object.keys(gates).length ? { featureGates: { ...gates } } : {}),
    ...patches.kubelet,
  };
}

function taintsOf(plan: NodePlan, hostname: string): { key: string; value?: string; effect: string }[] {
  return (plannedNode(plan, hostname)?.settings.taints ?? []).map(parseTaint);
}

/** RFC 7386: objects merge key by key, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Doc = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Doc) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

type KubeadmPatch = ResolvedConfig['cluster']['kubeadmPatches'][number];

/** Where a node's own kubeadm patches are set: cluster.controlPlane, or its worker group. */
function nodePatchesOf(config: ResolvedConfig, plan: NodePlan, hostname: string): { patches: readonly KubeadmPatch[]; setting: string } {
  const node = plannedNode(plan, hostname);
  if (!node) return { patches: [], setting: '' };
  if (node.role === 'control-plane') return { patches: node.settings.kubeadmPatches ?? [], setting: 'cluster.controlPlane.kubeadmPatches' };
  const groupIndex = (config.cluster.workers ?? []).findIndex((g, i) => (g.name ?? `group-${i + 1}`) === node.group);
  return { patches: node.settings.kubeadmPatches ?? [], setting: groupIndex >= 0 ? `cluster.workers[${groupIndex}].kubeadmPatches` : 'cluster.workers' };
}

/**
 * Applies cluster.kubeadmPatches, then the node's own (cluster.controlPlane's or its worker
 * group's, when `hostname` is given), to the documents of their kind. A JSON patch that does
 * not apply (a missing path, a failed test) is a ConfigError naming the patch.
 */
export function applyKubeadmPatches(docs: Doc[], config: ResolvedConfig, node?: { plan: NodePlan; hostname: string }): Doc[] {
  const own = node ? nodePatchesOf(config, node.plan, node.hostname) : { patches: [], setting: '' };
  const all = [
    ...config.cluster.kubeadmPatches.map((patch, i) => ({ patch, setting: `cluster.kubeadmPatches[${i}]` })),
    ...own.patches.map((patch, i) => ({ patch, setting: `${own.setting}[${i}]` })),
  ];
  return docs.map((doc) => {
    let current: Doc = doc;
    all.forEach(({ patch, setting }) => {
      if (patch.kind !== doc.kind) return;
      if (patch.merge) {
        current = mergePatch(current, patch.merge) as Doc;
      } else {
        try {
          const ops = patch.jsonPatch as unknown as jsonpatch.Operation[];
          const problem = jsonpatch.validate(ops, current);
          if (problem) throw problem;
          current = jsonpatch.applyPatch(jsonpatch.deepClone(current) as Doc, ops, true, false).newDocument;
        } catch (cause) {
          const e = cause as { message?: string; index?: number; operation?: unknown };
          const op = e.index !== undefined ? ` (operation ${e.index}: ${JSON.stringify(e.operation)})` : '';
          throw new ConfigError(`${setting} (${patch.kind}) does not apply${op}: ${String(e.message ?? cause).split('\n')[0]}.`, {
            setting,
            cause,
            hint: `Fix the patch against the rendered document: \`local-cluster config kubeadm\` prints the ${patch.kind} it would patch.`,
          });
        }
      }
      if (current.kind !== patch.kind) {
        throw new ConfigError(`${setting} changes the document's kind to ${String(current.kind)}.`, { setting, hint: 'Patches may change fields, not the kind.' });
      }
    });
    return current;
  });
}

const dump = (docs: Doc[]) => docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');

/** The kubeadm documents for `kubeadm init` on the control plane, before the user's patches. */
export function initDocuments(input: KubeadmRenderInput): Doc[] {
  const { config, plan, patches } = input;
  const podSubnet = patches.podSubnet ? podRanges(config, patches.podSubnet).join(',') : undefined;
  const serviceSubnet = serviceRanges(config).join(',');
  const ips = nodeIps(config, plan, CONTROL_PLANE_HOSTNAME, input.controlPlaneIp);
  const apiServerFlags = componentFlags(config, 'apiServer');
  const lb = plan.loadBalancer;
  const ha = lb !== undefined;
  // one control plane: no leader election, so a restored control plane acts at once instead
  // of waiting for its previous instance's lease to expire; several must elect a leader
  const leaderElect = ha ? 'true' : 'false';
  return [
    {
      apiVersion: KUBEADM_API,
      kind: 'InitConfiguration',
      bootstrapTokens: [{ token: input.bootstrapToken, ttl: '0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
      localAPIEndpoint: { advertiseAddress: ips[0], bindPort: API_SERVER_PORT },
      ...(ha && input.certificateKey ? { certificateKey: input.certificateKey } : {}),
      patches: { directory: KUBEADM_PATCHES_DIR },
      nodeRegistration: {
        name: CONTROL_PLANE_HOSTNAME,
        criSocket: CRI_SOCKET,
        kubeletExtraArgs: args({ 'node-ip': ips.join(','), ...componentFlags(config, 'kubelet') }),
        ignorePreflightErrors: IGNORED_PREFLIGHT_ERRORS,
        imagePullPolicy: 'Never',
        taints: [
          ...(plan.controlPlanesSchedulable ? [] : [CONTROL_PLANE_TAINT]),
          ...taintsOf(plan, CONTROL_PLANE_HOSTNAME),
        ],
      },
    },
    {
      apiVersion: KUBEADM_API,
      kind: 'ClusterConfiguration',
      clusterName: config.cluster.name,
      kubernetesVersion: config.source.kubernetesVersion,
      // ECDSA keys for every certificate kubeadm makes (its default is RSA-2048): some 16 RSA keys
      // cost a second or more of kubeadm-init on a 2-core machine, the ECDSA ones a few milliseconds
      encryptionAlgorithm: 'ECDSA-P256',
      controlPlaneEndpoint: controlPlaneEndpoint(plan),
      networking: { serviceSubnet, dnsDomain: 'cluster.local', ...(podSubnet ? { podSubnet } : {}) },
      apiServer: {
        certSANs: [
          ...new Set([
            'localhost',
            '127.0.0.1',
            CONTROL_PLANE_HOSTNAME,
            input.controlPlaneIp,
            ...ips,
            ...(input.apiServerAddress ? [input.apiServerAddress] : []),
            ...(lb ? [lb.hostname, lb.address, ...plan.nodes.filter((n) => n.role === 'control-plane').slice(1).flatMap((n) => [n.hostname, n.address])] : []),
          ]),
        ],
        ...(Object.keys(apiServerFlags).length ? { extraArgs: args(apiServerFlags) } : {}),
      },
      controllerManager: {
        extraArgs: args({
          'bind-address': '0.0.0.0',
          'leader-elect': leaderElect,
          ...(podSubnet ? { 'allocate-node-cidrs': 'true' } : {}),
          // fake nodes: the node controller lifts the not-ready taint of each (a request a node);
          // at the default 20 requests/s, 1000 nodes took minutes (kwokctl lifts the limit too)
          ...(config.cluster.fakeNodes > 0
            ? { 'kube-api-qps': '200', 'kube-api-burst': '400', 'node-monitor-grace-period': `${nodeMonitorGraceSeconds(config.cluster.fakeNodes)}s` }
            : {}),
          ...patches.controllerManagerArgs,
          ...componentFlags(config, 'controllerManager'),
        }),
      },
      scheduler: { extraArgs: args({ 'bind-address': '0.0.0.0', 'leader-elect': leaderElect, ...componentFlags(config, 'scheduler') }) },
      // one etcd member: it elects itself after a random 1-2 election timeouts less nine ticks,
      // 0.1-1 s at etcd's defaults (100 ms ticks, 1 s timeout), which every restore waited on its
      // way to the API server; at 25/125 ms it waits 25-125 ms. Several members keep the defaults.
      ...(ha ? {} : { etcd: { local: { extraArgs: args({ 'heartbeat-interval': '25', 'election-timeout': '125' }) } } }),
    },
    kubeletConfiguration(config, patches),
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: config.cluster.kubeProxyMode,
      // nf_conntrack_max cannot be set from inside a container
      conntrack: { maxPerCore: 0 },
      ...(podSubnet ? { clusterCIDR: podSubnet } : {}),
      ...(Object.keys(config.cluster.featureGates).length ? { featureGates: { ...config.cluster.featureGates } } : {}),
      ...patches.kubeProxy,
    },
  ];
}

/** The kubeadm config for `kubeadm init` on the control plane, with cluster.kubeadmPatches applied. */
export function renderInitConfig(input: KubeadmRenderInput): string {
  return dump(applyKubeadmPatches(initDocuments(input), input.config, { plan: input.plan, hostname: CONTROL_PLANE_HOSTNAME }));
}

export interface JoinRenderInput {
  config: ResolvedConfig;
  /** The config's node plan: the joining node's role and taints in it, whether control planes are schedulable. */
  plan: NodePlan;
  hostname: string;
  ip: string;
  bootstrapToken: string;
  /** For a control plane joining a cluster with several: the key of the uploaded certificates. */
  certificateKey?: string;
}

export function joinDocument(input: JoinRenderInput): Doc {
  const controlPlane = plannedNode(input.plan, input.hostname)?.role === 'control-plane';
  const ips = nodeIps(input.config, input.plan, input.hostname, input.ip);
  return {
    apiVersion: KUBEADM_API,
    kind: 'JoinConfiguration',
    ...(controlPlane
      ? {
          controlPlane: { localAPIEndpoint: { advertiseAddress: ips[0], bindPort: API_SERVER_PORT }, ...(input.certificateKey ? { certificateKey: input.certificateKey } : {}) },
          patches: { directory: KUBEADM_PATCHES_DIR },
        }
      : {}),
    // discovery by file (the cluster's CA and endpoint, written by `up` from the first control
    // plane): pinned to the CA, and no wait for the controller manager to sign cluster-info, which
    // token discovery needs (5 s of every cold `up`); the token still does the TLS bootstrap
    discovery: {
      file: { kubeConfigPath: DISCOVERY_FILE },
      tlsBootstrapToken: input.bootstrapToken,
    },
    nodeRegistration: {
      name: input.hostname,
      criSocket: CRI_SOCKET,
      // A worker's kubelet does its TLS bootstrap before it starts: with client rotation on
      // (kubeadm forces it on in the KubeletConfiguration, the flag overrides it) it starts at once
      // as system:anonymous, its Service informer is refused and backs off, and pods that reach
      // the node meanwhile fail with "services have not yet been read at least once" and wait out
      // a 10-15 s retry: one cold `up` in four here. The client certificate then lasts a year (the
      // signer's default) without rotating; cluster.componentArgs.kubelet can turn rotation back
      // on. Not on a joining control plane: its kubelet bootstraps against its own API server,
      // which only that kubelet can start (etcd and the API server are its static pods)
      kubeletExtraArgs: args({ 'node-ip': ips.join(','), ...(controlPlane ? {} : { 'rotate-certificates': 'false' }), ...componentFlags(input.config, 'kubelet') }),
      ignorePreflightErrors: IGNORED_PREFLIGHT_ERRORS,
      imagePullPolicy: 'Never',
      taints: [...(controlPlane && !input.plan.controlPlanesSchedulable ? [CONTROL_PLANE_TAINT] : []), ...taintsOf(input.plan, input.hostname)],
    },
  };
}

/** Where a joining node finds the cluster's CA and endpoint (JoinConfiguration discovery.file). */
export const DISCOVERY_FILE = '/etc/local-cluster/discovery.conf';

/** The discovery kubeconfig: the control-plane endpoint and the cluster CA (PEM), nothing secret. */
export function discoveryKubeconfig(plan: NodePlan, caPem: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    // the shape of kubeadm's own cluster-info kubeconfig: one unnamed cluster, no context, no user
    clusters: [{ name: '', cluster: { server: `https://${controlPlaneEndpoint(plan)}`, 'certificate-authority-data': btoa(caPem) } }],
    contexts: [],
    'current-context': '',
    users: [],
  });
}

/** The kubeadm config for `kubeadm join` on a worker, with cluster.kubeadmPatches applied. */
export function renderJoinConfig(input: JoinRenderInput): string {
  return dump(applyKubeadmPatches([joinDocument(input)], input.config, { plan: input.plan, hostname: input.hostname }));
}

/** A token of the right shape for checks and previews; `up` makes a random one. */
export const PLACEHOLDER_TOKEN = 'abcdef.0123456789abcdef';
/** A certificate key of the right shape for previews; `up` makes a random one. */
export const PLACEHOLDER_CERTIFICATE_KEY = '0'.repeat(64);

/**
 * Every kubeadm document `up` would hand to kubeadm for this config and CNI, patches
 * applied: the init configuration, then one JoinConfiguration per worker (placeholder token).
 * `up` passes the plan its context carries; a preview (`local-cluster config kubeadm`) plans the nodes itself.
 */
export function renderClusterKubeadm(config: ResolvedConfig, plan: NodePlan, cni: CniPlugin, apiServerAddress: string = config.cluster.apiServerAddress ?? '127.0.0.1'): string {
  const patches = cni.configure?.(config) ?? {};
  const podSubnet = podSubnetOf(config, cni, patches);
  const [first, ...rest] = plan.nodes;
  const docs = [
    `# ${first!.hostname} (kubeadm init)\n${renderInitConfig({ config, plan, patches: { ...patches, podSubnet }, controlPlaneIp: first!.address, bootstrapToken: PLACEHOLDER_TOKEN, certificateKey: PLACEHOLDER_CERTIFICATE_KEY, apiServerAddress })}`,
    ...rest.map((n) => `# ${n.hostname} (kubeadm join${n.role === 'control-plane' ? ' --control-plane' : ''})\n${renderJoinConfig({ config, plan, hostname: n.hostname, ip: n.address, bootstrapToken: PLACEHOLDER_TOKEN, certificateKey: PLACEHOLDER_CERTIFICATE_KEY })}`),
  ];
  return docs.join('---\n');
}

/** The cluster's pod subnet: cluster.podSubnet, else what the CNI plugin asks for, else its default. */
export function podSubnetOf(config: ResolvedConfig, cni: CniPlugin, patches: KubeadmPatches): string {
  return config.cluster.podSubnet ?? patches.podSubnet ?? cni.defaultPodSubnet;
}

/** A random certificate key for `kubeadm init --upload-certs`: 32 bytes, hex. */
export function newCertificateKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A random bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}. */
export function newBootstrapToken(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(random(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}
