import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CNI_API_VERSION,
  familiesOf,
  ipv6Ranges,
  goModuleDir,
  iptablesWrapperFiles,
  PreflightError,
  type ClusterContext,
  type CniPlugin,
  type GoBinary,
  type ImageRequirement,
} from '@local-cluster/core';

/** Calico v3.31.0: the monorepo module at the release commit (the proxy serves it as a pseudo-version). */
export const CALICO_VERSION = 'v3.31.0';
export const CALICO_MODULE = 'github.com/projectcalico/calico';
export const CALICO_MODULE_VERSION = 'v0.0.0-20251021213802-b1f3c43f8437';
const CALICO_COMMIT = 'b1f3c43f84370504e218eb5be8a34c81348f866a';
const CALICO_BUILD_DATE = '2025-10-21T21:38:02Z';

/** Upstream's image names: images a user pulled under them are used as is. */
export const CALICO_NODE_IMAGE = `quay.io/calico/node:${CALICO_VERSION}`;
export const CALICO_CNI_IMAGE = `quay.io/calico/cni:${CALICO_VERSION}`;
export const CALICO_CONTROLLERS_IMAGE = `quay.io/calico/kube-controllers:${CALICO_VERSION}`;

/**
 * The nested modules the release's go.mod replaces with local directories, which a
 * module zip leaves out: taken from the proxy at the release's own versions (not in
 * the checksum database, so their hashes are pinned here), or stubbed when unused.
 */
const NESTED = {
  replace: {
    'github.com/projectcalico/api': 'github.com/projectcalico/api v0.0.0-20251022175904-f2ab03771208',
    'github.com/projectcalico/calico/lib/std': 'github.com/projectcalico/calico/lib/std v0.0.0-20251021213802-b1f3c43f8437',
    'github.com/projectcalico/calico/lib/httpmachinery': 'stub',
  },
  sums: [
    'github.com/projectcalico/api v0.0.0-20251022175904-f2ab03771208 h1:ltTWo/cCc/8pEpzmlzIjt6r2383x2XDPkuBcd/9kE3k=',
    'github.com/projectcalico/api v0.0.0-20251022175904-f2ab03771208/go.mod h1:0+91//9pw8kMOyWwG1egVY9a9y43kVTLZfiEF1l5IQc=',
    'github.com/projectcalico/calico/lib/std v0.0.0-20251021213802-b1f3c43f8437 h1:iLY3Uzt4pVX3jpS9Wt+mxakq1nfzN/32t6YZK9n7p/U=',
    'github.com/projectcalico/calico/lib/std v0.0.0-20251021213802-b1f3c43f8437/go.mod h1:CjRtnCtQlXAxROAfoVztMfaBDWFqpuZmWM9EfBkcj8c=',
  ],
  env: { GONOSUMDB: 'github.com/projectcalico/*' },
};

function calicoBinary(pkg: string, binary: string, dir: string): GoBinary {
  const buildinfo = `${CALICO_MODULE}/pkg/buildinfo`;
  return {
    module: CALICO_MODULE,
    version: CALICO_MODULE_VERSION,
    package: pkg,
    binary,
    dir,
    ldflags: [`-X ${buildinfo}.Version=${CALICO_VERSION}`, `-X ${buildinfo}.GitRevision=${CALICO_COMMIT}`, `-X ${buildinfo}.BuildDate=${CALICO_BUILD_DATE}`],
    ...NESTED,
  };
}

/** calico-node (felix and the node agent), the CNI plugin and its installer, kube-controllers; CGO off (no eBPF data plane). */
export function calicoImages(): ImageRequirement[] {
  return [
    {
      ref: CALICO_NODE_IMAGE,
      recipe: {
        go: [calicoBinary('node/cmd/calico-node', 'calico-node', '/usr/bin')],
        // felix programs iptables and ipsets and flushes conntrack entries
        debianPackages: ['iptables', 'ipset', 'conntrack'],
        files: iptablesWrapperFiles(),
        shell: true,
        entrypoint: ['/usr/bin/calico-node'],
      },
    },
    {
      ref: CALICO_CNI_IMAGE,
      recipe: {
        go: [calicoBinary('cni-plugin/cmd/calico', 'calico', '/opt/cni/bin'), calicoBinary('cni-plugin/cmd/install', 'install', '/opt/cni/bin')],
        // the same binary is the IPAM plugin under another name
        files: [{ path: '/opt/cni/bin/calico-ipam', link: 'calico' }],
        entrypoint: ['/opt/cni/bin/install'],
      },
    },
    {
      ref: CALICO_CONTROLLERS_IMAGE,
      recipe: {
        go: [calicoBinary('kube-controllers/cmd/kube-controllers', 'kube-controllers', '/usr/bin'), calicoBinary('kube-controllers/cmd/check-status', 'check-status', '/usr/bin')],
        entrypoint: ['/usr/bin/kube-controllers'],
        user: '999',
      },
    },
  ];
}

export interface CalicoOptions {
  /** The cluster's pod subnet: Calico's default IP pool. */
  podSubnet?: string;
  /** Encapsulation: only VXLAN runs here (these kernels have no IPIP; there is no BGP without BIRD). */
  encapsulation?: 'vxlan';
  /** Pod interface MTU; 0 lets Calico detect it. */
  mtu?: number;
}

const NS = 'kube-system';

/** The CNI config template the installer fills in on every node. */
export function cniNetworkConfig(ipv6?: { only: boolean }): string {
  return JSON.stringify(
    {
      name: 'k8s-pod-network',
      cniVersion: '0.3.1',
      plugins: [
        {
          type: 'calico',
          log_level: 'info',
          log_file_path: '/var/log/calico/cni/cni.log',
          datastore_type: 'kubernetes',
          nodename: '__KUBERNETES_NODE_NAME__',
          mtu: '__CNI_MTU__',
          ipam: { type: 'calico-ipam', ...(ipv6 ? { assign_ipv4: String(!ipv6.only), assign_ipv6: 'true' } : {}) },
          policy: { type: 'k8s' },
          kubernetes: { kubeconfig: '__KUBECONFIG_FILEPATH__' },
        },
        { type: 'portmap', snat: true, capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    },
    null,
    2,
  ).replace('"__CNI_MTU__"', '__CNI_MTU__');
}

const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]) => ({ apiGroups, resources, verbs, ...(resourceNames ? { resourceNames } : {}) });
const CALICO = 'crd.projectcalico.org';
const READ = ['get', 'list', 'watch'];
const WRITE = ['get', 'list', 'create', 'update', 'delete'];

function rbac(): object[] {
  const roles: Record<string, object[]> = {
    'calico-node': [
      rule([''], ['serviceaccounts/token'], ['create'], ['calico-cni-plugin']),
      rule([''], ['pods', 'nodes', 'namespaces'], ['get']),
      rule(['discovery.k8s.io'], ['endpointslices'], ['watch', 'list']),
      rule([''], ['endpoints', 'services'], ['watch', 'list', 'get']),
      rule([''], ['configmaps'], ['get']),
      rule([''], ['nodes/status'], ['patch', 'update']),
      rule(['networking.k8s.io'], ['networkpolicies'], ['watch', 'list']),
      rule(['policy.networking.k8s.io'], ['adminnetworkpolicies', 'baselineadminnetworkpolicies'], ['watch', 'list']),
      rule([''], ['pods', 'namespaces', 'serviceaccounts'], ['list', 'watch']),
      rule([''], ['pods/status'], ['patch']),
      rule(
        [CALICO],
        ['globalfelixconfigs', 'felixconfigurations', 'bgppeers', 'bgpfilters', 'globalbgpconfigs', 'bgpconfigurations', 'ippools', 'ipreservations', 'ipamblocks', 'globalnetworkpolicies', 'stagedglobalnetworkpolicies', 'networkpolicies', 'stagednetworkpolicies', 'stagedkubernetesnetworkpolicies', 'globalnetworksets', 'networksets', 'clusterinformations', 'hostendpoints', 'blockaffinities', 'caliconodestatuses', 'tiers'],
        READ,
      ),
      rule([CALICO], ['tiers'], ['create']),
      rule([CALICO], ['ippools', 'felixconfigurations', 'clusterinformations'], ['create', 'update']),
      rule([CALICO], ['caliconodestatuses'], ['update']),
      rule([''], ['nodes'], READ),
      rule([CALICO], ['bgpconfigurations', 'bgppeers'], ['create', 'update']),
      rule([CALICO], ['blockaffinities', 'ipamblocks', 'ipamhandles'], WRITE),
      rule([CALICO], ['ipamconfigs'], ['get', 'create']),
      rule([CALICO], ['blockaffinities'], ['watch']),
      rule(['apps'], ['daemonsets'], ['get']),
    ],
    'calico-cni-plugin': [
      rule([''], ['pods', 'nodes', 'namespaces'], ['get']),
      rule([''], ['pods/status'], ['patch']),
      rule([CALICO], ['blockaffinities', 'ipamblocks', 'ipamhandles', 'clusterinformations', 'ippools', 'ipreservations', 'ipamconfigs'], WRITE),
    ],
    'calico-kube-controllers': [
      rule([''], ['nodes', 'pods', 'namespaces'], READ),
      rule([''], ['services', 'services/status'], ['get', 'list', 'update', 'watch']),
      rule([CALICO], ['ipreservations'], ['list']),
      rule([CALICO], ['blockaffinities', 'ipamblocks', 'ipamhandles', 'ipamconfigs', 'tiers'], [...WRITE, 'watch']),
      rule([CALICO], ['ippools'], ['list', 'watch']),
      rule([CALICO], ['hostendpoints'], [...WRITE, 'watch']),
      rule([CALICO], ['clusterinformations', 'kubecontrollersconfigurations'], ['get', 'list', 'create', 'update', 'watch']),
    ],
  };
  return Object.entries(roles).flatMap(([name, rules]) => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NS } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: NS }],
    },
  ]);
}

/** RBAC, config, the calico-node DaemonSet and kube-controllers, from the cluster's settings (CRDs apart). */
export function calicoManifest(podSubnet: string, options: CalicoOptions = {}, ipv6?: { podSubnet: string; only: boolean }): object[] {
  const mtu = String(options.mtu ?? 0);
  const fromConfig = (key: string) => ({ valueFrom: { configMapKeyRef: { name: 'calico-config', key } } });
  const nodeName = { valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } };
  const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
  const privileged = { privileged: true };
  // what every calico-node process reads: the Kubernetes datastore, VXLAN only, the node's InternalIP
  const nodeEnv = [
    { name: 'DATASTORE_TYPE', value: 'kubernetes' },
    { name: 'WAIT_FOR_DATASTORE', value: 'true' },
    { name: 'NODENAME', ...nodeName },
    { name: 'CALICO_NETWORKING_BACKEND', ...fromConfig('calico_backend') },
    { name: 'CLUSTER_TYPE', value: 'k8s' },
    // an IPv6-only cluster's nodes have no IPv4 InternalIP for Calico
    { name: 'IP', value: ipv6?.only ? 'none' : 'autodetect' },
    { name: 'IP_AUTODETECTION_METHOD', value: 'kubernetes-internal-ip' },
    { name: 'CALICO_IPV4POOL_CIDR', value: podSubnet },
    { name: 'CALICO_IPV4POOL_IPIP', value: 'Never' },
    { name: 'CALICO_IPV4POOL_VXLAN', value: 'Always' },
    { name: 'CALICO_IPV6POOL_VXLAN', value: ipv6 ? 'Always' : 'Never' },
    // with cluster.ipFamily dual or ipv6: an IPv6 pool over VXLAN, each node at its IPv6 InternalIP
    // NAT outgoing as the IPv4 pool has it: a pod's packets to another node's address leave with
    // that node's source, so an externalTrafficPolicy Local NodePort treats them alike in both families
    ...(ipv6 ? [{ name: 'IP6', value: 'autodetect' }, { name: 'IP6_AUTODETECTION_METHOD', value: 'kubernetes-internal-ip' }, { name: 'CALICO_IPV6POOL_CIDR', value: ipv6.podSubnet }, { name: 'CALICO_IPV6POOL_NAT_OUTGOING', value: 'true' }] : []),
    { name: 'FELIX_VXLANMTU', ...fromConfig('veth_mtu') },
    { name: 'FELIX_IPINIPENABLED', value: 'false' },
    { name: 'FELIX_BPFENABLED', value: 'false' },
    { name: 'FELIX_XDPENABLED', value: 'false' },
    { name: 'FELIX_WIREGUARDENABLED', value: 'false' },
    { name: 'CALICO_DISABLE_FILE_LOGGING', value: 'true' },
    { name: 'FELIX_DEFAULTENDPOINTTOHOSTACTION', value: 'ACCEPT' },
    { name: 'FELIX_IPV6SUPPORT', value: String(ipv6 !== undefined) },
    { name: 'FELIX_HEALTHENABLED', value: 'true' },
    // the iptables data plane still cleans up a BPF connect-time load balancer at start, which
    // needs libbpf (cgo): built with CGO off there is none to clean up, and the stub would panic
    { name: 'FELIX_DebugSkipCTLBCleanup', value: 'true' },
  ];
  const calicoVolumes = [
    { name: 'var-run-calico', mountPath: '/var/run/calico' },
    { name: 'var-lib-calico', mountPath: '/var/lib/calico' },
  ];
  const agent = (name: string, args: string[]) => ({
    name,
    image: CALICO_NODE_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['/usr/bin/calico-node', ...args],
    env: nodeEnv,
    securityContext: privileged,
    volumeMounts: calicoVolumes,
  });
  return [
    ...rbac(),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'calico-config', namespace: NS },
      data: { typha_service_name: 'none', calico_backend: 'vxlan', veth_mtu: mtu, cni_network_config: cniNetworkConfig(ipv6) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'calico-node', namespace: NS, labels: { 'k8s-app': 'calico-node' } },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'calico-node' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: { 'k8s-app': 'calico-node' } },
          spec: {
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            serviceAccountName: 'calico-node',
            terminationGracePeriodSeconds: 0,
            tolerations: [{ effect: 'NoSchedule', operator: 'Exists' }, { key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoExecute', operator: 'Exists' }],
            initContainers: [
              {
                name: 'install-cni',
                image: CALICO_CNI_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['/opt/cni/bin/install'],
                env: [
                  { name: 'CNI_CONF_NAME', value: '10-calico.conflist' },
                  { name: 'CNI_NETWORK_CONFIG', ...fromConfig('cni_network_config') },
                  { name: 'KUBERNETES_NODE_NAME', ...nodeName },
                  { name: 'CNI_MTU', ...fromConfig('veth_mtu') },
                  { name: 'SLEEP', value: 'false' },
                ],
                securityContext: privileged,
                volumeMounts: [
                  { name: 'cni-bin-dir', mountPath: '/host/opt/cni/bin' },
                  { name: 'cni-net-dir', mountPath: '/host/etc/cni/net.d' },
                ],
              },
              // what the upstream image's runit runs first: the Node resource, the default IP pool
              agent('startup', ['-startup']),
            ],
            containers: [
              {
                ...agent('calico-node', ['-felix']),
                resources: { requests: { cpu: '100m' } },
                livenessProbe: { exec: { command: ['/usr/bin/calico-node', '-felix-live'] }, periodSeconds: 10, initialDelaySeconds: 10, failureThreshold: 6, timeoutSeconds: 10 },
                readinessProbe: { exec: { command: ['/usr/bin/calico-node', '-felix-ready'] }, periodSeconds: 5, timeoutSeconds: 10 },
                volumeMounts: [
                  ...calicoVolumes,
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  { name: 'policysync', mountPath: '/var/run/nodeagent' },
                  { name: 'cni-log-dir', mountPath: '/var/log/calico/cni', readOnly: true },
                ],
              },
              // the other services of the upstream image: the node's VXLAN tunnel address, the
              // CNI plugin's token
              agent('allocate-tunnel-addrs', ['-allocate-tunnel-addrs']),
              { ...agent('cni-token', ['-monitor-token']), volumeMounts: [...calicoVolumes, { name: 'cni-net-dir', mountPath: '/host/etc/cni/net.d' }] },
            ],
            volumes: [
              hostPath('var-run-calico', '/var/run/calico', 'DirectoryOrCreate'),
              hostPath('var-lib-calico', '/var/lib/calico', 'DirectoryOrCreate'),
              hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
              hostPath('cni-bin-dir', '/opt/cni/bin', 'DirectoryOrCreate'),
              hostPath('cni-net-dir', '/etc/cni/net.d'),
              hostPath('cni-log-dir', '/var/log/calico/cni', 'DirectoryOrCreate'),
              hostPath('policysync', '/var/run/nodeagent', 'DirectoryOrCreate'),
            ],
          },
        },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'calico-kube-controllers', namespace: NS, labels: { 'k8s-app': 'calico-kube-controllers' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'k8s-app': 'calico-kube-controllers' } },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels: { 'k8s-app': 'calico-kube-controllers' } },
          spec: {
            serviceAccountName: 'calico-kube-controllers',
            priorityClassName: 'system-cluster-critical',
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
            containers: [
              {
                name: 'calico-kube-controllers',
                image: CALICO_CONTROLLERS_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'ENABLED_CONTROLLERS', value: 'node,loadbalancer' },
                  { name: 'DATASTORE_TYPE', value: 'kubernetes' },
                ],
                livenessProbe: { exec: { command: ['/usr/bin/check-status', '-l'] }, periodSeconds: 10, initialDelaySeconds: 10, failureThreshold: 6, timeoutSeconds: 10 },
                readinessProbe: { exec: { command: ['/usr/bin/check-status', '-r'] }, periodSeconds: 10 },
                securityContext: { runAsNonRoot: true },
                // where it writes the status its probes read
                volumeMounts: [{ name: 'status', mountPath: '/status' }],
              },
            ],
            volumes: [{ name: 'status', emptyDir: {} }],
          },
        },
      },
    },
  ];
}

/** Calico's CRDs at the release, read from the release's own module (libcalico-go/config/crd). */
export async function calicoCrds(): Promise<string[]> {
  const dir = join(await goModuleDir(CALICO_MODULE, CALICO_MODULE_VERSION, NESTED.env), 'libcalico-go', 'config', 'crd');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
}

/** Calico with VXLAN encapsulation, the iptables data plane and Calico IPAM; enforces NetworkPolicy. */
export function calico(options: CalicoOptions = {}): CniPlugin {
  const podSubnet = options.podSubnet ?? '192.168.0.0/16';
  if (options.encapsulation !== undefined && options.encapsulation !== 'vxlan') {
    throw new PreflightError('cni-calico', `Calico encapsulation "${String(options.encapsulation)}" cannot run here: these kernels have no IPIP and there is no BGP.`, {
      hint: 'Use encapsulation "vxlan" (the default).',
    });
  }
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'calico',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4', 'ipv6'], networkPolicy: true },
    images: () => calicoImages(),
    configure: () => ({ podSubnet }),
    async install(ctx: ClusterContext) {
      // CRDs first: server-side, as upstream's are too large for client-side apply's annotation
      for (const crd of await calicoCrds()) await ctx.kubectl(['apply', '--server-side', '-f', '-'], { stdin: crd });
      await ctx.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
      const families = familiesOf(ctx.config);
      const ipv6 = families.includes('ipv6') ? { podSubnet: ipv6Ranges(ctx.config).pod, only: !families.includes('ipv4') } : undefined;
      await ctx.apply(calicoManifest(ctx.podSubnet, options, ipv6));
    },
    async waitReady(ctx: ClusterContext) {
      await ctx.waitForRollout('daemonset', NS, 'calico-node', { timeoutSeconds: 240 });
      await ctx.waitForRollout('deployment', NS, 'calico-kube-controllers', { timeoutSeconds: 180 });
    },
  };
}

export default calico;
