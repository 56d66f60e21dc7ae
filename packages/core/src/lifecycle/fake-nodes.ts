import { cidrsOverlap, nthAddress, parseCidr, type ResolvedConfig } from '../config/schema.js';
import type { ImageRequirement, Logger } from '../contracts/context.js';
import type { Driver, NodeSpec } from '../contracts/driver.js';
import { LocalClusterError } from '../errors.js';
import { ensureImage } from '../images/factory.js';
import { goModuleDir } from '../images/go.js';
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, inParallel, KubeApi, tokenKubeconfig, type ApiAccess } from './kube-api.js';
import { containerName, ownerLabels } from './naming.js';

/**
 * KWOK fake nodes (cluster.fakeNodes): Node objects no kubelet stands behind. One kwok
 * controller (sigs.k8s.io/kwok, built by the image factory) in one plain container on the
 * cluster's network keeps their status, leases and pods going; the nodes themselves are
 * created here, many requests in flight, and waited for until Ready.
 */

export const KWOK_MODULE = 'sigs.k8s.io/kwok';
/** The newest release the module proxy serves (`go list -m -versions sigs.k8s.io/kwok`). */
export const KWOK_VERSION = 'v0.8.0';
export const KWOK_IMAGE = `docker.io/local-cluster/kwok:${KWOK_VERSION}`;
export const FAKE_NODES_HOSTNAME = 'kwok';
/** kwok manages the nodes carrying this annotation (as its own deployment does). */
export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const FAKE_NODE_TAINT = { key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' } as const;
/** The label fake nodes carry: select them with `type=kwok`. */
export const FAKE_NODE_LABEL = { key: 'type', value: 'kwok' } as const;
export const KWOK_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'kwok-controller' } as const;
/** kwok's health and metrics server inside its container. */
export const KWOK_SERVER_PORT = 10247;
/**
 * How long kwok's nodes' leases last (kwok renews each after a quarter of it): a kubelet's 40 s up
 * to 1000 fake nodes, then 40 s more a thousand, so 5000 nodes ask about 100 lease writes a
 * second instead of 500 (the API server of a 2-core machine fell behind at 2000-5000). The
 * controller manager's node-monitor grace period follows (`nodeMonitorGraceSeconds`).
 */
export function kwokLeaseSeconds(fakeNodes: number): number {
  return 40 * Math.max(1, Math.ceil(fakeNodes / 1000));
}

/** The controller manager's --node-monitor-grace-period with fake nodes: a lease and 10 s (kubelets: 40 s leases, 50 s grace). */
export function nodeMonitorGraceSeconds(fakeNodes: number): number {
  return kwokLeaseSeconds(fakeNodes) + 10;
}
/** What one fake node offers the scheduler. */
export const FAKE_NODE_CAPACITY = { cpu: '32', memory: '256Gi', pods: '110' } as const;
/** The ranges kwok's pod addresses may come from (the first that overlaps none of the cluster's). */
export const KWOK_POD_CIDRS = ['10.128.0.0/10', '100.64.0.0/10', '172.16.0.0/12'] as const;

const KUBECONFIG_ENV = 'LOCAL_CLUSTER_KWOK_KUBECONFIG';
const KUBECONFIG_FILE = '/tmp/kubeconfig';

/**
 * kwok's stages, read from its module (v0.8.0 has no built-in defaults): nodes get Ready at
 * once; kwok renews their leases itself (the liveness signal the node lifecycle controller
 * reads), so their status is rewritten every 10-20 minutes as a kubelet's is, not every 20-45 s
 * (the plain heartbeat stage: about 150 status writes a second with 5000 nodes, more than this
 * machine's API server kept up with); pods get Ready, complete, go.
 */
export const KWOK_STAGE_FILES = [
  'kustomize/stage/node/fast/node-initialize.yaml',
  'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'kustomize/stage/pod/fast/pod-ready.yaml',
  'kustomize/stage/pod/fast/pod-complete.yaml',
  'kustomize/stage/pod/fast/pod-delete.yaml',
] as const;
export const KWOK_STAGES_PATH = '/etc/kwok/stages.yaml';

/** kwok's image: the binary built with CGO off, its stages, a shell to write the kubeconfig at start. */
export function kwokImage(stages: string): ImageRequirement {
  return {
    ref: KWOK_IMAGE,
    recipe: {
      go: [{ module: KWOK_MODULE, version: KWOK_VERSION, package: 'cmd/kwok', binary: 'kwok', ldflags: ['-X', `${KWOK_MODULE}/pkg/consts.Version=${KWOK_VERSION}`] }],
      files: [{ path: KWOK_STAGES_PATH, content: stages, mode: 0o644 }],
      shell: true,
      // the kubeconfig travels in the container's environment, so an engine restart brings it back
      entrypoint: ['/bin/sh', '-c', `printf '%s\\n' "$${KUBECONFIG_ENV}" > ${KUBECONFIG_FILE} && exec /usr/local/bin/kwok --kubeconfig=${KUBECONFIG_FILE} "$@"`, 'kwok'],
      user: '65532',
    },
    loadIntoNodes: false,
  };
}

/** kwok's stage files from its module (the machine's Go module cache, through its GOPROXY), as one multi-document YAML. */
export async function kwokStages(moduleDir?: string): Promise<string> {
  const dir = moduleDir ?? (await goModuleDir(KWOK_MODULE, KWOK_VERSION));
  const docs = await Promise.all(KWOK_STAGE_FILES.map((f) => readFile(join(dir, f), 'utf8')));
  return docs.map((d) => d.trim()).join('\n---\n') + '\n';
}

/** The i-th fake node's name (0-based). */
export function fakeNodeName(i: number): string {
  return `kwok-node-${i}`;
}

/** A fake node as kwok's documentation makes one: annotated for kwok, labelled type=kwok, tainted. */
export function fakeNodeManifest(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', [FAKE_NODE_ANNOTATION]: 'fake' },
      labels: { [FAKE_NODE_LABEL.key]: FAKE_NODE_LABEL.value, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/role': 'agent', 'node-role.kubernetes.io/agent': '' },
    },
    spec: { taints: [{ ...FAKE_NODE_TAINT }] },
    status: { allocatable: { ...FAKE_NODE_CAPACITY }, capacity: { ...FAKE_NODE_CAPACITY } },
  };
}

/** Exactly what kwok needs without its CRDs (its module's kustomize/rbac/role.yaml, the kwok.x-k8s.io rules left out). */
export const KWOK_RULES = [
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['nodes/status', 'pods/status'], verbs: ['patch', 'update'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'list', 'patch', 'update', 'watch'] },
] as const;

/** The ServiceAccount kwok runs as, its ClusterRole and the binding: [API path, object] for server-side apply. */
export function kwokRbac(): [string, Record<string, unknown>][] {
  const { namespace, name } = KWOK_SERVICE_ACCOUNT;
  const labels = { 'app.kubernetes.io/name': 'kwok', 'app.kubernetes.io/managed-by': 'local-cluster' };
  return [
    [`/api/v1/namespaces/${namespace}/serviceaccounts/${name}`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } }],
    [`/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules: KWOK_RULES }],
    [
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    ],
  ];
}

/** The pool kwok hands pod addresses from: the first candidate overlapping none of `clusterRanges`. */
export function kwokPodCidr(clusterRanges: readonly string[]): string {
  const free = KWOK_POD_CIDRS.find((c) => clusterRanges.every((r) => !parseCidr(r) || !cidrsOverlap(c, r)));
  if (!free) {
    throw new LocalClusterError(`No range for the fake nodes' pod addresses: ${KWOK_POD_CIDRS.join(', ')} each overlap one of the cluster's ranges (${clusterRanges.join(', ')}).`, {
      hint: 'Choose another --dind-subnet or pod subnet.',
    });
  }
  return free;
}

/** kwok's address on the cluster network: the last usable one of dind.subnet, away from the nodes' (from .2 up) and Docker's own. */
export function fakeNodesAddress(config: ResolvedConfig): string {
  const prefix = parseCidr(config.dind.subnet)?.prefix ?? 16;
  return nthAddress(config.dind.subnet, 2 ** (32 - prefix) - 2);
}

/** kwok's flags: the nodes it manages, its leases, its pod address pool. */
export function kwokArgs(podCidr: string, nodeIp: string, fakeNodes: number): string[] {
  return [
    `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
    `--node-lease-duration-seconds=${kwokLeaseSeconds(fakeNodes)}`,
    `--config=${KWOK_STAGES_PATH}`,
    `--cidr=${podCidr}`,
    `--node-ip=${nodeIp}`,
    `--server-address=0.0.0.0:${KWOK_SERVER_PORT}`,
    // INFO logs every lease renewal and status patch: gigabytes of container log with thousands of nodes
    '--v=WARN',
  ];
}

/** kwok's container: plain (unprivileged), a fixed address on the cluster network, its kubeconfig in its environment. */
export function fakeNodesSpec(config: ResolvedConfig, network: string, kubeconfig: string, podCidr: string): NodeSpec {
  const cluster = config.cluster.name;
  const ip = fakeNodesAddress(config);
  return {
    name: containerName(cluster, FAKE_NODES_HOSTNAME),
    hostname: FAKE_NODES_HOSTNAME,
    image: KWOK_IMAGE,
    network,
    ip,
    labels: ownerLabels(cluster, 'fake-nodes'),
    env: { [KUBECONFIG_ENV]: kubeconfig },
    cmd: kwokArgs(podCidr, ip, config.cluster.fakeNodes),
    privileged: false,
  };
}

export interface FakeNodesOptions {
  driver: Driver;
  config: ResolvedConfig;
  /** The cluster's Docker network (kwok's container joins it). */
  network: string;
  /** The API server as seen from that network, e.g. https://10.192.0.2:6443 (kwok uses it). */
  apiServerUrl: string;
  /** Admin access as seen from here (the kubeconfig `up` writes, read with apiAccessFromKubeconfig); its CA is also kwok's. */
  admin: ApiAccess;
  /** The cluster's node, pod and service ranges (kwok's pod pool avoids them). */
  clusterRanges: readonly string[];
  /** The image factory's cache. */
  cacheDir: string;
  logger: Logger;
  signal: AbortSignal;
  /** Wait until the node controller has lifted the not-ready taint too (it runs in a kubeadm cluster). Default true. */
  waitUntainted?: boolean;
  /** Give up waiting after this long. Default: 2 min + 150 ms a node (the node controller lifts the taints at about 10 nodes a second on a busy 2-core machine). */
  timeoutMs?: number;
}

interface NodeList {
  items: { metadata: { name: string }; spec?: { taints?: { key: string }[] }; status?: { conditions?: { type: string; status: string }[] } }[];
}
interface LeaseList {
  items: { metadata: { name: string }; spec?: { renewTime?: string } }[];
}

/** How many fake nodes are Ready: condition Ready, lease renewed since `since` (a restored etcd holds old ones), and (if asked) no not-ready taint. */
export function countReady(nodes: NodeList, leases: LeaseList, since: number, untainted: boolean, names?: ReadonlySet<string>): number {
  const renewed = new Set(leases.items.filter((l) => l.spec?.renewTime && Date.parse(l.spec.renewTime) >= since).map((l) => l.metadata.name));
  return nodes.items.filter(
    (n) =>
      (!names || names.has(n.metadata.name)) &&
      renewed.has(n.metadata.name) &&
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
      !(untainted && n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable')),
  ).length;
}

const SELECTOR = `labelSelector=${encodeURIComponent(`${FAKE_NODE_LABEL.key}=${FAKE_NODE_LABEL.value}`)}`;

/** Creates the Node objects that are missing (many in flight); returns how many it created. */
export async function createFakeNodes(api: KubeApi, count: number, signal?: AbortSignal, onProgress?: (created: number) => void): Promise<number> {
  const existing = await api.call<NodeList>('GET', `/api/v1/nodes?${SELECTOR}&resourceVersion=0`, signal ? { signal } : {});
  const have = new Set(existing.body.items.map((n) => n.metadata.name));
  const missing = Array.from({ length: count }, (_, i) => fakeNodeName(i)).filter((n) => !have.has(n));
  let created = 0;
  await inParallel(missing, 32, async (name) => {
    // 409: made meanwhile (another run); anything else is an error
    await api.call('POST', '/api/v1/nodes', { body: fakeNodeManifest(name), ok: [409], ...(signal ? { signal } : {}) });
    if (++created % 500 === 0) onProgress?.(created);
  });
  return missing.length;
}

/** Polls until `count` fake nodes are Ready, logging "N of M" as it grows. */
export async function waitFakeNodesReady(api: KubeApi, count: number, options: { since: number; untainted: boolean; logger: Logger; signal: AbortSignal; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = -1;
  const names = new Set(Array.from({ length: count }, (_, i) => fakeNodeName(i)));
  for (;;) {
    const [nodes, leases] = await Promise.all([
      api.call<NodeList>('GET', `/api/v1/nodes?${SELECTOR}&resourceVersion=0`, { signal: options.signal }),
      api.call<LeaseList>('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?resourceVersion=0', { signal: options.signal }),
    ]);
    const ready = countReady(nodes.body, leases.body, options.since, options.untainted, names);
    if (ready !== last) options.logger.info(`${ready} of ${count} fake nodes Ready`);
    last = ready;
    if (ready >= count) return;
    if (Date.now() > deadline) {
      throw new LocalClusterError(`Only ${ready} of ${count} fake nodes (cluster.fakeNodes) got Ready in ${Math.round(options.timeoutMs / 1000)} s.`, {
        hint: `See the kwok controller's log (docker logs ${'$'}(docker ps -qf label=dev.local-cluster.role=fake-nodes)), or ask for fewer with --fake-nodes.`,
      });
    }
    await new Promise((r) => setTimeout(r, 2000));
    options.signal.throwIfAborted();
  }
}

/**
 * Brings the cluster's fake nodes up: builds kwok's image if missing, applies its ServiceAccount
 * and ClusterRole, (re)makes its container with a fresh token, creates the Node objects that are
 * not in etcd yet, and waits until every one is Ready. Used by `up` (fresh, restored, resumed);
 * services mode calls it with its own network, API address and admin access.
 */
export async function ensureFakeNodes(options: FakeNodesOptions): Promise<{ created: number; podCidr: string }> {
  const { driver, config, logger, signal } = options;
  const count = config.cluster.fakeNodes;
  const since = Date.now() - 1000;
  // many requests in flight each listen on the signal
  setMaxListeners(200, signal);
  await ensureImage({ image: kwokImage(await kwokStages()), neededBy: `cluster.fakeNodes ${count}` }, { driver, cacheDir: options.cacheDir, logger, signal });
  if (!options.admin.ca) throw new Error('the admin access has no CA (kwok needs it to trust the API server)');
  const api = new KubeApi(options.admin);
  try {
    for (const [path, object] of kwokRbac()) await api.apply(path, object, signal);
    const { namespace, name } = KWOK_SERVICE_ACCOUNT;
    // a bound token for a year: a container kept across engine restarts keeps working
    const token = await api.call<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 365 * 24 * 3600 } },
      signal,
    });
    const podCidr = kwokPodCidr(options.clusterRanges);
    const kubeconfig = tokenKubeconfig(options.apiServerUrl, options.admin.ca, token.body.status.token, 'kwok');
    await driver.removeNodes(await driver.listNodes({ cluster: config.cluster.name, role: 'fake-nodes' }, { signal }), { signal });
    await driver.createNode(fakeNodesSpec(config, options.network, kubeconfig, podCidr), { signal });
    const started = Date.now();
    const created = await createFakeNodes(api, count, signal, (n) => logger.info(`${n} fake nodes created`));
    logger.info(`kwok runs (pod addresses from ${podCidr}); ${created ? `created ${created} fake node(s) in ${((Date.now() - started) / 1000).toFixed(1)} s` : `all ${count} fake nodes were in etcd already`}`);
    await waitFakeNodesReady(api, count, { since, untainted: options.waitUntainted ?? true, logger, signal, timeoutMs: options.timeoutMs ?? 120_000 + 150 * count });
    return { created, podCidr };
  } catch (error) {
    if (error instanceof ApiError) throw new LocalClusterError(`Fake nodes (cluster.fakeNodes): the API server refused a request: ${error.message}`, { hint: 'Check the control plane (kubectl get --raw /readyz).' });
    throw error;
  } finally {
    await api.close();
  }
}
