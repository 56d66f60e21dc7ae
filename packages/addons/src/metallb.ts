import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ADDON_API_VERSION, familiesOf, goModuleDir, ipv6Ranges, nthAddress, nthAddress6, parseCidr, type Addon, type ClusterContext, type GoBinary, type ImageRequirement } from '@local-cluster/core';

/**
 * LoadBalancer Services with addresses from the cluster's Docker network: MetalLB in L2 mode
 * (native, no FRR), built from its Go module with CGO off. The image names are upstream's, so
 * pulled upstream images are used as is (our builds put the programs where upstream's do:
 * /controller and /speaker, their entrypoints).
 */
export const METALLB_MODULE = 'go.universe.tf/metallb';
export const METALLB_VERSION = 'v0.15.2';
/** The commit and release branch of the v0.15.2 tag, which upstream's images report in their startup log. */
const METALLB_COMMIT = '942c2fe54a75ac6353d3099eeebff33b6b8fe3f0';
const METALLB_BRANCH = 'v0.15';
export const METALLB_CONTROLLER_IMAGE = `quay.io/metallb/controller:${METALLB_VERSION}`;
export const METALLB_SPEAKER_IMAGE = `quay.io/metallb/speaker:${METALLB_VERSION}`;

export const METALLB_NAMESPACE = 'metallb-system';
/** The IPAddressPool (and L2Advertisement) the addon makes. */
export const METALLB_POOL_NAME = 'local-cluster';
/** How many addresses the pool holds: the last ones of the Docker network before its broadcast address. */
export const METALLB_POOL_SIZE = 16;

const CONTROLLER = 'controller';
const SPEAKER = 'speaker';
/** The Secret the controller creates (random key) and the speakers encrypt memberlist with. */
const MEMBERLIST_SECRET = 'memberlist';
const MONITORING_PORT = 7472;
const MEMBERLIST_PORT = 7946;

/**
 * The pool's range (`A-B`): the last METALLB_POOL_SIZE usable addresses of the cluster's Docker
 * network, as far as possible from the node containers, which take .2 upward.
 * metallbPool('10.192.0.0/16') = '10.192.255.239-10.192.255.254'.
 */
export function metallbPool(subnet: string): string {
  const cidr = parseCidr(subnet);
  if (!cidr) throw new Error(`not an IPv4 CIDR: ${subnet}`);
  const size = 2 ** (32 - cidr.prefix);
  // network, gateway (.1), one node (.2) and broadcast stay out of the pool
  if (size < METALLB_POOL_SIZE + 4) throw new Error(`${subnet} is too small for a pool of ${METALLB_POOL_SIZE} addresses`);
  const last = size - 2;
  return `${nthAddress(subnet, last - METALLB_POOL_SIZE + 1)}-${nthAddress(subnet, last)}`;
}

function metallbBinary(name: string): GoBinary {
  const version = `${METALLB_MODULE}/internal/version`;
  return {
    module: METALLB_MODULE,
    version: METALLB_VERSION,
    package: name,
    binary: name,
    dir: '/',
    // what upstream's Dockerfiles set (the version itself is a constant in that package)
    ldflags: [`-X ${version}.gitCommit=${METALLB_COMMIT}`, `-X ${version}.gitBranch=${METALLB_BRANCH}`],
  };
}

/** Two images, like upstream's; the speaker's carries only the speaker (FRR's tools serve the BGP modes only). */
export function metallbImages(): ImageRequirement[] {
  return [
    { ref: METALLB_CONTROLLER_IMAGE, recipe: { go: [metallbBinary(CONTROLLER)], entrypoint: [`/${CONTROLLER}`] } },
    { ref: METALLB_SPEAKER_IMAGE, recipe: { go: [metallbBinary(SPEAKER)], entrypoint: [`/${SPEAKER}`] } },
  ];
}

interface Crd {
  kind: string;
  metadata: { name: string };
  spec: { conversion?: { strategy?: string } };
}

/** CRDs from YAML documents, without conversion webhooks (there is no webhook Service). */
export function crdsFromYaml(texts: readonly string[]): Crd[] {
  const crds: Crd[] = [];
  for (const text of texts) {
    for (const doc of yaml.loadAll(text) as (Crd | null)[]) {
      if (!doc || doc.kind !== 'CustomResourceDefinition') continue;
      if (doc.spec.conversion?.strategy === 'Webhook') delete doc.spec.conversion;
      crds.push(doc);
    }
  }
  return crds;
}

/**
 * MetalLB's CRDs at the release, read from its own module (config/crd/bases): the pools and
 * advertisements, and the BGP, BFD, community and status types the controller and speaker
 * watch (they fail without them, whatever the mode).
 */
export async function metallbCrds(): Promise<object[]> {
  const dir = join(await goModuleDir(METALLB_MODULE, METALLB_VERSION), 'config', 'crd', 'bases');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return crdsFromYaml(await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8'))));
}

/** Interfaces the speakers never answer ARP on: upstream's list, plus VXLAN devices (calico's vxlan.calico). */
const EXCLUDED_INTERFACES = ['^docker.*', '^cbr.*', '^dummy.*', '^virbr.*', '^lxcbr.*', '^veth.*', '^lo$', '^cali.*', '^tunl.*', '^vxlan.*', '^flannel.*', '^kube-ipvs.*', '^cni.*', '^nodelocaldns.*'];

/** Readiness on the metrics endpoint (upstream's probe), polled often so `up` returns sooner. */
function probes(): object {
  const probe = { httpGet: { path: '/metrics', port: 'monitoring' }, timeoutSeconds: 1 };
  return {
    readinessProbe: { ...probe, periodSeconds: 2, failureThreshold: 3 },
    livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
  };
}

/**
 * Namespace, RBAC, the controller and the speakers, after upstream's native manifest
 * (config/manifests/metallb-native.yaml) without the validating webhooks: the controller runs
 * with --webhook-mode=disabled, so it neither serves them nor rotates their certificate, and
 * needs no webhook Service, certificate Secret or rights on webhook configurations and CRDs.
 */
export function metallbManifest(): object[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const app = { app: 'metallb' };
  const metallb = (resources: string[], verbs = ['get', 'list', 'watch']) => ({ apiGroups: ['metallb.io'], resources, verbs });
  const controllerLabels = { ...app, component: CONTROLLER };
  const speakerLabels = { ...app, component: SPEAKER };
  const ns = METALLB_NAMESPACE;
  const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, sa: string) => ({
    apiVersion: rbac,
    kind,
    metadata: kind === 'RoleBinding' ? { name, namespace: ns, labels: app } : { name, labels: app },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
  });
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      // the speakers run on the host network with NET_RAW
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/audit': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged' } },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER, namespace: ns, labels: app } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SPEAKER, namespace: ns, labels: app } },
    {
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: CONTROLLER, namespace: ns, labels: app },
      rules: [
        // the memberlist Secret it creates, owned by its Deployment
        { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [CONTROLLER], verbs: ['get'] },
        metallb(['bgppeers'], ['get', 'list']),
        metallb(['bfdprofiles', 'ipaddresspools', 'bgpadvertisements', 'l2advertisements', 'communities']),
        metallb(['ipaddresspools/status'], ['update']),
      ],
    },
    {
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: 'pod-lister', namespace: ns, labels: app },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['list', 'get'] },
        { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        metallb(['bfdprofiles', 'bgppeers', 'l2advertisements', 'bgpadvertisements', 'ipaddresspools', 'communities']),
        metallb(['servicebgpstatuses', 'servicebgpstatuses/status'], ['*']),
      ],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: 'metallb-system:controller', labels: app },
      rules: [
        { apiGroups: [''], resources: ['services', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
        { apiGroups: [''], resources: ['services/status'], verbs: ['update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: 'metallb-system:speaker', labels: app },
      rules: [
        metallb(['servicel2statuses', 'servicel2statuses/status'], ['*']),
        { apiGroups: [''], resources: ['services', 'endpoints', 'nodes', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    },
    binding('RoleBinding', CONTROLLER, CONTROLLER),
    binding('RoleBinding', 'pod-lister', SPEAKER),
    binding('ClusterRoleBinding', 'metallb-system:controller', CONTROLLER),
    binding('ClusterRoleBinding', 'metallb-system:speaker', SPEAKER),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'metallb-excludel2', namespace: ns, labels: app },
      data: { 'excludel2.yaml': `announcedInterfacesToExclude: ${JSON.stringify(EXCLUDED_INTERFACES)}\n` },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: CONTROLLER, namespace: ns, labels: controllerLabels },
      spec: {
        revisionHistoryLimit: 3,
        selector: { matchLabels: controllerLabels },
        template: {
          metadata: { labels: controllerLabels },
          spec: {
            serviceAccountName: CONTROLLER,
            terminationGracePeriodSeconds: 0,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            // like CoreDNS: it may run on the control plane
            tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            securityContext: { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 },
            containers: [
              {
                name: CONTROLLER,
                image: METALLB_CONTROLLER_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                args: [`--port=${MONITORING_PORT}`, '--log-level=info', '--webhook-mode=disabled', '--disable-cert-rotation'],
                env: [
                  { name: 'METALLB_ML_SECRET_NAME', value: MEMBERLIST_SECRET },
                  { name: 'METALLB_DEPLOYMENT', value: CONTROLLER },
                ],
                ports: [{ name: 'monitoring', containerPort: MONITORING_PORT }],
                ...probes(),
                resources: { requests: { cpu: '10m', memory: '30Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: SPEAKER, namespace: ns, labels: speakerLabels },
      spec: {
        selector: { matchLabels: speakerLabels },
        template: {
          metadata: { labels: speakerLabels },
          spec: {
            serviceAccountName: SPEAKER,
            terminationGracePeriodSeconds: 2,
            // answers ARP for the pool's addresses on the node's own interface
            hostNetwork: true,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            // on every node, the control plane too
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
              { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
            ],
            containers: [
              {
                name: SPEAKER,
                image: METALLB_SPEAKER_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                // kubeadm labels control-plane nodes exclude-from-external-load-balancers; every
                // node announces here (a cluster without workers has only that node)
                args: [`--port=${MONITORING_PORT}`, '--log-level=info', '--ignore-exclude-lb'],
                env: [
                  { name: 'METALLB_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                  { name: 'METALLB_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'METALLB_HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
                  // memberlist (fast dead-node detection) between the speakers, keyed by the controller's Secret
                  { name: 'METALLB_ML_BIND_ADDR', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'METALLB_ML_LABELS', value: `app=metallb,component=${SPEAKER}` },
                  { name: 'METALLB_ML_SECRET_KEY_PATH', value: '/etc/ml_secret_key' },
                ],
                ports: [
                  { name: 'monitoring', containerPort: MONITORING_PORT },
                  { name: 'memberlist-tcp', containerPort: MEMBERLIST_PORT },
                  { name: 'memberlist-udp', containerPort: MEMBERLIST_PORT, protocol: 'UDP' },
                ],
                ...probes(),
                resources: { requests: { cpu: '10m', memory: '30Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: ['NET_RAW'], drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'memberlist', mountPath: '/etc/ml_secret_key', readOnly: true },
                  { name: 'metallb-excludel2', mountPath: '/etc/metallb', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'memberlist', secret: { secretName: MEMBERLIST_SECRET, defaultMode: 0o644 } },
              { name: 'metallb-excludel2', configMap: { name: 'metallb-excludel2', defaultMode: 0o400 } },
            ],
          },
        },
      },
    },
  ];
}

/**
 * The IPv6 pool of a node network's IPv6 range: METALLB_POOL_SIZE addresses from ::ff00, far above
 * the nodes' fixed ones (metallbPool6('fd00:10:241::/64') = 'fd00:10:241::ff00-fd00:10:241::ff0f').
 */
export function metallbPool6(subnet6: string): string {
  return `${nthAddress6(subnet6, 0xff00)}-${nthAddress6(subnet6, 0xff00 + METALLB_POOL_SIZE - 1)}`;
}

/** The pool (the top of the cluster's Docker network; with IPv6 a range of its IPv6 range too, or that alone) and its announcement in L2 mode. */
export function metallbPoolManifest(subnet: string, ipv6?: { subnet6: string; only: boolean }): object[] {
  const metadata = { name: METALLB_POOL_NAME, namespace: METALLB_NAMESPACE };
  const addresses = [...(ipv6?.only ? [] : [metallbPool(subnet)]), ...(ipv6 ? [metallbPool6(ipv6.subnet6)] : [])];
  return [
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata, spec: { addresses } },
    { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata, spec: { ipAddressPools: [METALLB_POOL_NAME] } },
  ];
}

/** The `metallb` addon: LoadBalancer Services get an address of the Docker network that answers from this machine. */
export function metallb(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'metallb',
    images: () => metallbImages(),
    async install(ctx: ClusterContext) {
      metallbPool(ctx.config.dind.subnet); // a subnet too small fails before anything is applied
      const crds = await metallbCrds();
      await ctx.apply(crds);
      const names = crds.map((crd) => `crd/${(crd as Crd).metadata.name}`);
      await ctx.kubectl(['wait', '--for=condition=Established', ...names, '--timeout=60s']);
      const families = familiesOf(ctx.config);
      const ipv6 = families.includes('ipv6') ? { subnet6: ipv6Ranges(ctx.config).node, only: !families.includes('ipv4') } : undefined;
      await ctx.apply([...metallbManifest(), ...metallbPoolManifest(ctx.config.dind.subnet, ipv6)]);
    },
    async waitReady(ctx: ClusterContext) {
      await ctx.waitForRollout('deployment', METALLB_NAMESPACE, CONTROLLER, { timeoutSeconds: 180 });
      await ctx.waitForRollout('daemonset', METALLB_NAMESPACE, SPEAKER, { timeoutSeconds: 240 });
      // the controller has taken the pool: it counts its addresses in the pool's status
      const counted = familiesOf(ctx.config).includes('ipv4') ? 'availableIPv4' : 'availableIPv6';
      await ctx.kubectl(['wait', `--for=jsonpath={.status.${counted}}`, '-n', METALLB_NAMESPACE, `ipaddresspool/${METALLB_POOL_NAME}`, '--timeout=60s']);
    },
  };
}

export default metallb;
