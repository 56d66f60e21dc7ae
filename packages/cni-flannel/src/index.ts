import {
  CNI_API_VERSION,
  familiesOf,
  ipv6Ranges,
  iptablesWrapperFiles,
  type ClusterContext,
  type CniPlugin,
  type ImageRequirement,
} from '@local-cluster/core';

/** flanneld's module and the release built; the image name is upstream's, so a pulled upstream image is used as is. */
export const FLANNEL_MODULE = 'github.com/flannel-io/flannel';
export const FLANNEL_VERSION = 'v0.28.10';
export const FLANNEL_IMAGE = `ghcr.io/flannel-io/flannel:${FLANNEL_VERSION}`;

/**
 * The `flannel` CNI binary. Its own module (flannel-io/cni-plugin) is not served
 * by every proxy; containernetworking/plugins v0.9.1 carries the same plugin
 * (meta/flannel, CNI spec up to 0.4.0). The image is named after what it holds.
 */
export const FLANNEL_CNI_MODULE = 'github.com/containernetworking/plugins';
export const FLANNEL_CNI_VERSION = 'v0.9.1';
export const FLANNEL_CNI_IMAGE = `docker.io/local-cluster/flannel-cni-plugin:${FLANNEL_CNI_VERSION}`;

export const NAMESPACE = 'kube-flannel';
const APP = 'flannel';
const DAEMONSET = 'kube-flannel-ds';

export interface FlannelOptions {
  /** Pod subnet of the cluster (net-conf.json Network); each node gets a /24 of it. */
  podSubnet?: string;
  /** VXLAN VNI and UDP port. */
  vni?: number;
  port?: number;
}

/** The images flannel runs, as recipes of the image factory. */
export function flannelImages(): ImageRequirement[] {
  return [
    {
      ref: FLANNEL_IMAGE,
      recipe: {
        go: [
          {
            module: FLANNEL_MODULE,
            version: FLANNEL_VERSION,
            binary: 'flanneld',
            dir: '/opt/bin',
            ldflags: [`-X ${FLANNEL_MODULE}/pkg/version.Version=${FLANNEL_VERSION}`],
            // backends that need cgo or cloud SDKs; vxlan (what this plugin configures) stays
            dropImports: [`${FLANNEL_MODULE}/pkg/backend/tencentvpc`, `${FLANNEL_MODULE}/pkg/backend/udp`],
          },
        ],
        // flanneld programs masquerading and forwarding rules through iptables
        debianPackages: ['iptables'],
        files: iptablesWrapperFiles(),
        shell: true,
        entrypoint: ['/opt/bin/flanneld'],
      },
    },
    {
      ref: FLANNEL_CNI_IMAGE,
      recipe: {
        go: [{ module: FLANNEL_CNI_MODULE, version: FLANNEL_CNI_VERSION, package: 'plugins/meta/flannel', binary: 'flannel', dir: '/' }],
        // the install init container copies the binary onto the node
        shell: true,
        entrypoint: ['/bin/cp'],
      },
    },
  ];
}

/** The CNI config flannel's init container installs on every node: flannel delegating to bridge, plus portmap. */
export function cniConfig(): object {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/**
 * flanneld's network config: the cluster's pod subnet over VXLAN; with an IPv6 pod subnet
 * (cluster.ipFamily dual or ipv6) that one too, or that one alone.
 */
export function netConfig(podSubnet: string, options: FlannelOptions = {}, ipv6?: { podSubnet: string; only: boolean }): object {
  return {
    ...(ipv6?.only ? { EnableIPv4: false } : { Network: podSubnet }),
    ...(ipv6 ? { EnableIPv6: true, IPv6Network: ipv6.podSubnet } : {}),
    EnableNFTables: false,
    Backend: { Type: 'vxlan', ...(options.vni ? { VNI: options.vni } : {}), ...(options.port ? { Port: options.port } : {}) },
  };
}

/** Namespace, RBAC, config and DaemonSet, written from the cluster's settings. */
export function flannelManifest(podSubnet: string, options: FlannelOptions = {}, ipv6?: { podSubnet: string; only: boolean }): object[] {
  const labels = { app: APP, tier: 'node' };
  const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: APP, namespace: NAMESPACE } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: APP },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: APP },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: APP },
      subjects: [{ kind: 'ServiceAccount', name: APP, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-flannel-cfg', namespace: NAMESPACE, labels },
      data: {
        'cni-conf.json': JSON.stringify(cniConfig(), null, 2),
        'net-conf.json': JSON.stringify(netConfig(podSubnet, options, ipv6), null, 2),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: DAEMONSET, namespace: NAMESPACE, labels },
      spec: {
        selector: { matchLabels: { app: APP } },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            serviceAccountName: APP,
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            initContainers: [
              {
                name: 'install-cni-plugin',
                image: FLANNEL_CNI_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['cp'],
                args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
              },
              {
                name: 'install-cni',
                image: FLANNEL_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['cp'],
                args: ['-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
                volumeMounts: [
                  { name: 'cni', mountPath: '/etc/cni/net.d' },
                  { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                ],
              },
            ],
            containers: [
              {
                name: 'kube-flannel',
                image: FLANNEL_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['/opt/bin/flanneld'],
                // the node's address on the cluster network (hostNetwork: the pod IP is the node IP)
                args: ['--ip-masq', '--kube-subnet-mgr', '--iface=$(POD_IP)'],
                resources: { requests: { cpu: '100m', memory: '50Mi' } },
                securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                ],
                volumeMounts: [
                  { name: 'run', mountPath: '/run/flannel' },
                  { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                ],
              },
            ],
            volumes: [
              hostPath('run', '/run/flannel'),
              hostPath('cni-plugin', '/opt/cni/bin'),
              hostPath('cni', '/etc/cni/net.d'),
              { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
              hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            ],
          },
        },
      },
    },
  ];
}

/** Flannel with the VXLAN backend, its images built offline by the image factory. */
export function flannel(options: FlannelOptions = {}): CniPlugin {
  const podSubnet = options.podSubnet ?? '10.244.0.0/16';
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'flannel',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4', 'ipv6'] },
    images: () => flannelImages(),
    // the controller manager allocates each node's /24 (kubeadm turns it on with a pod subnet)
    configure: () => ({ podSubnet }),
    async install(ctx: ClusterContext) {
      const families = familiesOf(ctx.config);
      const ipv6 = families.includes('ipv6') ? { podSubnet: ipv6Ranges(ctx.config).pod, only: !families.includes('ipv4') } : undefined;
      await ctx.apply(flannelManifest(ctx.podSubnet, options, ipv6));
    },
    async waitReady(ctx: ClusterContext) {
      await ctx.waitForRollout('daemonset', NAMESPACE, DAEMONSET, { timeoutSeconds: 180 });
    },
  };
}

export default flannel;
