import { CNI_API_VERSION, type ClusterContext, type CniPlugin, type ImageRequirement } from '@local-cluster/core';

/** The Weave Net release this plugin runs; the image names are upstream's, so images a user loaded under them are used as is. */
export const WEAVE_VERSION = '2.8.1';
export const WEAVE_KUBE_IMAGE = `docker.io/weaveworks/weave-kube:${WEAVE_VERSION}`;
export const WEAVE_NPC_IMAGE = `docker.io/weaveworks/weave-npc:${WEAVE_VERSION}`;
export const WEAVE_IMAGES = [WEAVE_KUBE_IMAGE, WEAVE_NPC_IMAGE];

/**
 * Why Weave Net's images have no recipe. Measured: the archived project is served by the Go
 * module proxy only as github.com/weaveworks/weave v2.6.5+incompatible (no go.mod), and seven
 * of its dependencies (weaveworks/mesh, go-odp, go-checkpoint, common at its pinned revision,
 * andybalholm/go-bit, mdlayher/raw, docker/libnetwork at a working revision) are not served at
 * all; this project does not copy their sources in. Built from the release's own repository
 * (docs/user/cni.md says how), the images work: `up` then takes them from the engine.
 */
export const WEAVE_UNAVAILABLE =
  'Weave Net cannot be built offline here: seven of its Go dependencies (github.com/weaveworks/mesh, go-odp, go-checkpoint, weaveworks/common, andybalholm/go-bit, mdlayher/raw, docker/libnetwork) are not served by the Go module proxy. ' +
  `Load ${WEAVE_KUBE_IMAGE} and ${WEAVE_NPC_IMAGE} into the engine (docker load; docs/user/cni.md shows how to build them from Weave Net's source) and up --cni-plugin weave proceeds with them`;

export const NAMESPACE = 'kube-system';
/** The DaemonSet, its ServiceAccount, roles and pod label: upstream's name. */
export const DAEMONSET = 'weave-net';
/** Weave Net's own default allocation range, used when the cluster names no pod subnet. */
export const WEAVE_DEFAULT_RANGE = '10.32.0.0/12';

export interface WeaveOptions {
  /** Pod subnet of the cluster: weave's IP allocation range (IPALLOC_RANGE). */
  podSubnet?: string;
}

/** The images weave's pods run: no recipe (see WEAVE_UNAVAILABLE), used when they are in the engine. */
export function weaveImages(): ImageRequirement[] {
  return WEAVE_IMAGES.map((ref) => ({ ref, whyNoRecipe: WEAVE_UNAVAILABLE }));
}

/**
 * ServiceAccount, RBAC, the peer list's ConfigMap and the DaemonSet (weave-init, weave, weave-npc), written from the
 * cluster's settings: sleeve mode (WEAVE_NO_FASTDP: the fast datapath needs the openvswitch
 * module, which these kernels lack), the pod subnet as IPALLOC_RANGE, no password (traffic
 * between nodes stays on the machine's Docker network), weave-npc enforcing NetworkPolicy.
 */
export function weaveManifest(podSubnet: string): object[] {
  const labels = { name: DAEMONSET };
  const meta = (namespaced: boolean) => ({ name: DAEMONSET, labels, ...(namespaced ? { namespace: NAMESPACE } : {}) });
  const subject = { kind: 'ServiceAccount', name: DAEMONSET, namespace: NAMESPACE };
  const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
  const nodeName = { name: 'HOSTNAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } };
  const xtablesLock = { name: 'xtables-lock', mountPath: '/run/xtables.lock', readOnly: false };
  const read = ['get', 'list', 'watch'];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(true) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(false),
      rules: [
        // peers (kube-utils), and what weave-npc turns into ipsets and iptables rules
        { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: read },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: read },
        // the NetworkUnavailable condition, cleared once the node's weave is up
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: DAEMONSET },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(true),
      rules: [
        // the peer list weave keeps for reclaiming the addresses of removed nodes
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [DAEMONSET], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(true),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: DAEMONSET },
      subjects: [subject],
    },
    // the peer list's ConfigMap, there from the start: weave's launch reads its UID as the cluster's id before
    // anything of weave creates it, and would exit once on every node of a new cluster
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(true) },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta(true),
      spec: {
        selector: { matchLabels: labels },
        // a new pod connects to its peers before the next node's is replaced
        minReadySeconds: 5,
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            priorityClassName: 'system-node-critical',
            serviceAccountName: DAEMONSET,
            restartPolicy: 'Always',
            tolerations: [
              { operator: 'Exists', effect: 'NoSchedule' },
              { operator: 'Exists', effect: 'NoExecute' },
            ],
            initContainers: [
              {
                // checks ipset matching and bridge netfilter, installs the weave CNI plugin and its config on the node.
                // First it takes away the node's unreachable route for the pod subnet (written at every node start so that
                // pod addresses no CNI routes never leave the machine): weave's launch refuses any route overlapping its
                // range, and its bridge then routes the whole range itself.
                name: 'weave-init',
                image: WEAVE_KUBE_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sh', '-c', 'ip route del unreachable "$IPALLOC_RANGE" 2>/dev/null || true; exec /home/weave/init.sh'],
                env: [{ name: 'IPALLOC_RANGE', value: podSubnet }],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
                  { name: 'cni-conf', mountPath: '/host/etc/cni/net.d' },
                  xtablesLock,
                ],
              },
            ],
            containers: [
              {
                name: 'weave',
                image: WEAVE_KUBE_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['/home/weave/launch.sh'],
                env: [
                  { name: 'INIT_CONTAINER', value: 'true' },
                  nodeName,
                  { name: 'IPALLOC_RANGE', value: podSubnet },
                  // sleeve: UDP encapsulation in user space, no openvswitch module needed
                  { name: 'WEAVE_NO_FASTDP', value: '1' },
                  // no version check against weave's checkpoint service: traffic stays on this machine
                  { name: 'CHECKPOINT_DISABLE', value: '1' },
                ],
                readinessProbe: { httpGet: { host: '127.0.0.1', path: '/status', port: 6784 } },
                resources: { requests: { cpu: '50m' } },
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'weavedb', mountPath: '/weavedb' },
                  // the peer name derives from the node's machine id
                  { name: 'machine-id', mountPath: '/host/etc/machine-id', readOnly: true },
                  { name: 'dbus', mountPath: '/host/var/lib/dbus', readOnly: true },
                  xtablesLock,
                ],
              },
              {
                // NetworkPolicy: ipsets and iptables rules from the API's policies, pods and namespaces
                name: 'weave-npc',
                image: WEAVE_NPC_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                env: [nodeName],
                args: ['--log-level=info'],
                resources: { requests: { cpu: '50m' } },
                securityContext: { privileged: true },
                volumeMounts: [xtablesLock],
              },
            ],
            volumes: [
              hostPath('weavedb', '/var/lib/weave', 'DirectoryOrCreate'),
              hostPath('cni-bin', '/opt/cni/bin', 'DirectoryOrCreate'),
              hostPath('cni-conf', '/etc/cni/net.d', 'DirectoryOrCreate'),
              hostPath('machine-id', '/etc/machine-id', 'File'),
              hostPath('dbus', '/var/lib/dbus', 'DirectoryOrCreate'),
              hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            ],
          },
        },
      },
    },
  ];
}

/** Weave Net in sleeve mode with weave-npc, from images the user loaded into the engine. */
export function weave(options: WeaveOptions = {}): CniPlugin {
  const podSubnet = options.podSubnet ?? WEAVE_DEFAULT_RANGE;
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'weave',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4'], networkPolicy: true },
    images: () => weaveImages(),
    // the controller manager's per-node /24s are unused (weave allocates from the whole range) but harmless
    configure: () => ({ podSubnet }),
    async install(ctx: ClusterContext) {
      await ctx.apply(weaveManifest(ctx.podSubnet));
    },
    async waitReady(ctx: ClusterContext) {
      // IPAM reaches consensus among the peers before the first address is handed out
      await ctx.waitForRollout('daemonset', NAMESPACE, DAEMONSET, { timeoutSeconds: 240 });
    },
  };
}

export default weave;
