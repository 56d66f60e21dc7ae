import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import yaml from 'js-yaml';
import { localClusterHome, namesKubeconfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Driver, NodeHandle } from '../contracts/driver.js';
import { ConfigError, PreflightError } from '../errors.js';
import { controlPlaneOf, kubectlOn } from './context.js';
import { HOLLOW_LABEL, HOLLOW_NODE_BYTES, HOLLOW_PER_CONTAINER, HOLLOW_TAINT, hollowGroups, hollowNodeName } from './hollow-nodes.js';
import { upCommandFor } from './naming.js';

/**
 * Hollow nodes on another Kubernetes cluster (cluster.hollowNodesOn), as kubemark's
 * "pre-existing" provider runs them: a StatefulSet of pods in a namespace of that cluster, each
 * pod running HOLLOW_PER_CONTAINER hollow kubelets (the names follow from the pod's ordinal, so a
 * pod Kubernetes makes again runs the same nodes), each kubelet with its own identity by TLS
 * bootstrap, as the local hollow-node containers do. Everything made there carries
 * HOLLOW_ON_LABELS, and only that is removed.
 */

/** Labels on the namespace (and everything in it) local-cluster makes on the external cluster. */
export function hollowOnLabels(cluster: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'local-cluster', 'local-cluster.dev/hollow-nodes-of': cluster };
}

/** The namespace on the external cluster: one per local cluster, so several can share one. */
export function hollowNamespace(cluster: string): string {
  return `local-cluster-hollow-${cluster}`;
}

/** CPU each hollow kubelet asks for on the external cluster (measured about 0.005 core idle). */
export const HOLLOW_NODE_MILLICORES = 10;

/** Where the hollow nodes run, as `up` recorded it: `down`, `clean` and `status` read it. */
export interface HollowPlacement {
  /** Another local cluster on the same engine, by name. */
  cluster?: string;
  /** Or a kubeconfig (and context) of any cluster. */
  kubeconfig?: string;
  context?: string;
  namespace: string;
  count: number;
  /** The kubemark image `up` loaded into a local cluster's nodes (they lacked it): `clean` removes it when no other cluster's hollow nodes are there. */
  loadedImage?: string;
}

const PLACEMENT_FILE = 'hollow-nodes-on.json';

export async function writePlacement(clusterDirectory: string, placement: HollowPlacement): Promise<void> {
  await mkdir(clusterDirectory, { recursive: true });
  await writeFile(join(clusterDirectory, PLACEMENT_FILE), JSON.stringify(placement, null, 2) + '\n');
}

export async function readPlacement(clusterDirectory: string): Promise<HollowPlacement | undefined> {
  const file = join(clusterDirectory, PLACEMENT_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as HollowPlacement;
}

export async function forgetPlacement(clusterDirectory: string): Promise<void> {
  await rm(join(clusterDirectory, PLACEMENT_FILE), { force: true });
}

/** The external cluster, reached with kubectl: on its control plane (a local cluster) or on this machine (a kubeconfig). */
export interface ExternalCluster {
  /** How the user named it, for messages: `cluster "ext"` or `kubeconfig /path (context c)`. */
  readonly describe: string;
  /** A local cluster's node containers (its image is loaded into them); undefined for a kubeconfig. */
  readonly localNodes?: NodeHandle[];
  kubectl(args: readonly string[], options?: { stdin?: string; signal?: AbortSignal }): Promise<string>;
}


/** kubectl on this machine: on PATH, else the one the node image's build left in the cache. */
function kubectlBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  const binaries = join(localClusterHome(), 'cache', 'node-image', 'binaries');
  const versions = existsSync(binaries) ? readdirSync(binaries).sort().reverse() : [];
  for (const v of versions) if (existsSync(join(binaries, v, 'bin', 'kubectl'))) return join(binaries, v, 'bin', 'kubectl');
  return 'kubectl';
}

function hostKubectl(kubeconfig: string, context: string | undefined) {
  return (args: readonly string[], options: { stdin?: string; signal?: AbortSignal } = {}) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        kubectlBinary(),
        [`--kubeconfig=${kubeconfig}`, ...(context ? [`--context=${context}`] : []), '--request-timeout=20s', ...args],
        { maxBuffer: 256 << 20, ...(options.signal ? { signal: options.signal } : {}) },
        (error, stdout, stderr) => {
          if (error) {
            const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
            reject(Object.assign(new Error(missing ? 'kubectl is not on PATH (needed to reach a cluster named by a kubeconfig)' : `kubectl ${args.join(' ')}: ${(stderr || error.message).trim().slice(0, 800)}`), { stdout }));
          } else resolve(stdout);
        },
      );
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    });
}

/**
 * The external cluster cluster.hollowNodesOn names (or a placement recorded): refused with the
 * setting named when it is this cluster, a local cluster that does not exist or is stopped, a
 * kubeconfig that does not exist, or a context the kubeconfig lacks.
 */
export async function externalCluster(driver: Driver, placement: { cluster?: string; kubeconfig?: string; context?: string }, self: string, signal?: AbortSignal): Promise<ExternalCluster> {
  const opts = signal ? { signal } : {};
  if (placement.cluster !== undefined) {
    const name = placement.cluster;
    if (name === self) throw new ConfigError(`cluster.hollowNodesOn names this cluster ("${self}"): hollow nodes on another cluster need another cluster.`, { setting: 'cluster.hollowNodesOn', hint: 'Name another local cluster, or drop --hollow-nodes-on to run them in local containers.' });
    const nodes = await driver.listNodes({ cluster: name, role: 'node' }, opts);
    if (nodes.length === 0) {
      throw new ConfigError(`cluster.hollowNodesOn: local cluster "${name}" does not exist (no node containers carry its labels).`, {
        setting: 'cluster.hollowNodesOn',
        hint: `\`local-cluster list\` shows the clusters there are; \`${upCommandFor(name)}\` makes this one; or name a kubeconfig file (a path).`,
      });
    }
    const states = await Promise.all(nodes.map((n) => n.state(opts)));
    if (states.some((s) => s !== 'running')) {
      throw new ConfigError(`cluster.hollowNodesOn: local cluster "${name}" is not running (${nodes.map((n, i) => `${n.hostname} ${states[i]}`).join(', ')}).`, { setting: 'cluster.hollowNodesOn', hint: `Run \`${upCommandFor(name)}\` first.` });
    }
    const controlPlane = controlPlaneOf(nodes);
    return { describe: `cluster "${name}"`, localNodes: nodes, kubectl: (args, o = {}) => kubectlOn(controlPlane, args, o) };
  }
  const file = placement.kubeconfig!;
  if (!existsSync(file)) throw new ConfigError(`cluster.hollowNodesOn: kubeconfig ${file} does not exist.`, { setting: 'cluster.hollowNodesOn', hint: 'Name an existing kubeconfig file, or the name of a local cluster.' });
  let doc: { contexts?: { name?: string }[]; 'current-context'?: string };
  try {
    doc = (yaml.load(await readFile(file, 'utf8')) ?? {}) as typeof doc;
  } catch (e) {
    throw new ConfigError(`cluster.hollowNodesOn: kubeconfig ${file} is not YAML: ${(e as Error).message.split('\n')[0]}`, { setting: 'cluster.hollowNodesOn' });
  }
  const contexts = (doc.contexts ?? []).map((c) => c.name ?? '');
  const context = placement.context ?? doc['current-context'];
  if (!context || !contexts.includes(context)) {
    throw new ConfigError(`cluster.hollowNodesContext: ${context ? `context "${context}" is not in ${file}` : `${file} names no current context`} (it has: ${contexts.join(', ') || 'none'}).`, {
      setting: 'cluster.hollowNodesContext',
      hint: 'Name one of its contexts with --hollow-nodes-context.',
    });
  }
  return { describe: `kubeconfig ${file} (context ${context})`, kubectl: hostKubectl(file, placement.context) };
}

/** The placement of cluster.hollowNodesOn / hollowNodesContext. */
export function placementOf(config: ResolvedConfig): { cluster?: string; kubeconfig?: string; context?: string } | undefined {
  const on = config.cluster.hollowNodesOn;
  if (!on) return undefined;
  return namesKubeconfig(on) ? { kubeconfig: on, ...(config.cluster.hollowNodesContext ? { context: config.cluster.hollowNodesContext } : {}) } : { cluster: on };
}

/** The kubemark image as a cluster named by a kubeconfig pulls it: in cluster.hollowNodesRegistry. */
export function registryImage(registry: string, ref: string): string {
  return `${registry.replace(/\/$/, '')}/${ref.replace(/^docker\.io\//, '')}`;
}

/**
 * Whether this machine reaches the registry's API (GET /v2/ answers 200 or 401): plain HTTP for
 * localhost (as the engine pushes there), else HTTPS. The reason when not.
 */
export async function registryProblem(registry: string, signal?: AbortSignal): Promise<string | undefined> {
  const host = registry.split('/')[0]!;
  const scheme = /^(localhost|127\.)/.test(host) ? 'http' : 'https';
  try {
    const timeout = AbortSignal.timeout(5000);
    const res = await fetch(`${scheme}://${host}/v2/`, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    await res.body?.cancel();
    return res.status === 200 || res.status === 401 ? undefined : `${scheme}://${host}/v2/ answered HTTP ${res.status}`;
  } catch (e) {
    return `${scheme}://${host}/v2/ did not answer: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`;
  }
}

const quantity = {
  cpu(v: string | undefined): number {
    if (!v) return 0;
    if (v.endsWith('m')) return Number(v.slice(0, -1));
    if (v.endsWith('n')) return Number(v.slice(0, -1)) / 1e6;
    return Number(v) * 1000;
  },
  memory(v: string | undefined): number {
    if (!v) return 0;
    const m = /^([\d.]+)([A-Za-z]*)$/.exec(v);
    if (!m) return 0;
    const units: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, m: 1e-3 };
    return Number(m[1]) * (units[m[2]!] ?? 1);
  },
};

interface NodeJson {
  metadata: { name: string };
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status?: { allocatable?: Record<string, string>; conditions?: { type: string; status: string }[] };
}
interface PodJson {
  spec?: { nodeName?: string; containers?: { resources?: { requests?: Record<string, string> } }[] };
  status?: { phase?: string };
}

/** The pods the hollow nodes take (one per group), with what each asks for. */
export function hollowPods(count: number): { names: string[]; millicores: number; bytes: number }[] {
  return hollowGroups(count).map((names) => ({ names, millicores: names.length * HOLLOW_NODE_MILLICORES, bytes: names.length * HOLLOW_NODE_BYTES }));
}

/**
 * Whether the external cluster's schedulable nodes have room for the hollow pods, by what they
 * allocate minus what their pods ask for (first fit, largest first): the reason when not.
 */
export function schedulingProblem(count: number, nodes: readonly NodeJson[], pods: readonly PodJson[]): string | undefined {
  const free = new Map<string, { cpu: number; memory: number }>();
  for (const n of nodes) {
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const blocked = n.spec?.unschedulable || (n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    if (!ready || blocked) continue;
    free.set(n.metadata.name, { cpu: quantity.cpu(n.status?.allocatable?.cpu), memory: quantity.memory(n.status?.allocatable?.memory) });
  }
  for (const p of pods) {
    const node = p.spec?.nodeName && free.get(p.spec.nodeName);
    if (!node || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    for (const c of p.spec?.containers ?? []) {
      node.cpu -= quantity.cpu(c.resources?.requests?.cpu);
      node.memory -= quantity.memory(c.resources?.requests?.memory);
    }
  }
  const wanted = hollowPods(count).sort((a, b) => b.bytes - a.bytes);
  const room = [...free.values()];
  let placed = 0;
  for (const pod of wanted) {
    const node = room.find((r) => r.cpu >= pod.millicores && r.memory >= pod.bytes);
    if (!node) break;
    node.cpu -= pod.millicores;
    node.memory -= pod.bytes;
    placed++;
  }
  if (placed === wanted.length) return undefined;
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const perPod = wanted[0]!;
  return `${count} hollow nodes need ${wanted.length} pod(s) of up to ${perPod.millicores}m CPU and ${gib(perPod.bytes)} GiB memory each (${HOLLOW_NODE_MILLICORES}m and ${HOLLOW_NODE_BYTES / 2 ** 20} MiB per hollow kubelet, ${HOLLOW_PER_CONTAINER} per pod), but the ${free.size} schedulable node(s) have room for ${placed}`;
}

/**
 * Preflight of the external cluster, before anything is made on either: it answers (lists
 * namespaces), lets us create the namespace and the StatefulSet, holds no namespace of that
 * name that is not ours, and has room for the pods.
 */
export async function checkExternal(ext: ExternalCluster, cluster: string, count: number, signal?: AbortSignal): Promise<void> {
  const opts = signal ? { signal } : {};
  const fail = (what: string, hint: string) => new PreflightError('hollow-nodes-on', `cluster.hollowNodesOn (${ext.describe}): ${what}`, { hint });
  await ext.kubectl(['get', 'namespaces', '-o', 'name'], opts).catch((e: Error) => {
    throw fail(`cannot list namespaces: ${e.message}`, 'Check that the cluster runs and the kubeconfig\'s credentials are valid (kubectl get namespaces with it).');
  });
  const namespace = hollowNamespace(cluster);
  for (const [verb, resource, ns] of [['create', 'namespaces', undefined], ['create', 'statefulsets.apps', namespace], ['create', 'secrets', namespace]] as const) {
    const answer = (await ext.kubectl(['auth', 'can-i', verb, resource, ...(ns ? ['-n', ns] : [])], opts).catch((e: Error & { stdout?: string }) => e.stdout ?? 'no')).trim();
    if (answer !== 'yes') throw fail(`no permission to ${verb} ${resource}${ns ? ` in namespace ${ns}` : ''} (kubectl auth can-i said "${answer.split('\n')[0]}").`, 'Use credentials that may create namespaces, StatefulSets and Secrets there.');
  }
  const existing = await ext.kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'json'], opts);
  if (existing.trim()) {
    const labels = (JSON.parse(existing) as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
    if (labels['local-cluster.dev/hollow-nodes-of'] !== cluster) throw fail(`namespace ${namespace} exists and is not ours (it lacks local-cluster.dev/hollow-nodes-of=${cluster}).`, 'Remove it there, or name the cluster otherwise.');
  }
  const [nodes, pods] = await Promise.all([ext.kubectl(['get', 'nodes', '-o', 'json'], opts), ext.kubectl(['get', 'pods', '-A', '--field-selector=status.phase!=Succeeded,status.phase!=Failed', '-o', 'json'], opts)]);
  // our own pods of a previous run are replaced, so they do not count against the room
  const others = (JSON.parse(pods) as { items: (PodJson & { metadata?: { namespace?: string } })[] }).items.filter((p) => p.metadata?.namespace !== namespace);
  const problem = schedulingProblem(count, (JSON.parse(nodes) as { items: NodeJson[] }).items, others);
  if (problem) throw fail(`${problem}.`, 'Lower --hollow-nodes, or give that cluster more nodes.');
}

const SCRIPT = `set -eu
i=\${HOSTNAME##*-}
first=$((i * PER_POD + 1)); last=$((first + PER_POD - 1)); [ "$last" -gt "$COUNT" ] && last=$COUNT
names=""; n=$first
while [ "$n" -le "$last" ]; do names="$names hollow-node-$n"; n=$((n + 1)); done
export LOCAL_CLUSTER_HOLLOW_NAMES="\${names# }"
exec /usr/local/bin/local-cluster-hollow`;

/** The objects on the external cluster: the namespace, the bootstrap kubeconfig's Secret and the StatefulSet. */
export function hollowManifests(cluster: string, count: number, image: string, bootstrapKubeconfig: string, pullPolicy: 'Never' | 'IfNotPresent'): unknown[] {
  const labels = hollowOnLabels(cluster);
  const namespace = hollowNamespace(cluster);
  const perPod = Math.min(HOLLOW_PER_CONTAINER, count);
  const pods = hollowPods(count);
  const meta = (name: string) => ({ name, namespace, labels });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'Secret', metadata: meta('hollow-bootstrap'), stringData: { kubeconfig: bootstrapKubeconfig } },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('hollow-nodes'),
      spec: {
        replicas: pods.length,
        serviceName: 'hollow-nodes',
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { 'local-cluster.dev/hollow-nodes-of': cluster } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'hollow-kubelets',
                image,
                imagePullPolicy: pullPolicy,
                command: ['/bin/sh', '-c', SCRIPT],
                env: [
                  { name: 'COUNT', value: String(count) },
                  { name: 'PER_POD', value: String(perPod) },
                  { name: 'LOCAL_CLUSTER_BOOTSTRAP_KUBECONFIG', valueFrom: { secretKeyRef: { name: 'hollow-bootstrap', key: 'kubeconfig' } } },
                  { name: 'LOCAL_CLUSTER_HOLLOW_FLAGS', value: [`--node-labels=${HOLLOW_LABEL}=true`, `--register-with-taints=${HOLLOW_TAINT}`].join(' ') },
                ],
                resources: { requests: { cpu: `${perPod * HOLLOW_NODE_MILLICORES}m`, memory: `${(perPod * HOLLOW_NODE_BYTES) / 2 ** 20}Mi` } },
              },
            ],
          },
        },
      },
    },
  ];
}

/** The node names pod `hollow-nodes-<ordinal>` runs. */
export function namesOfPod(count: number, ordinal: number): string[] {
  const per = Math.min(HOLLOW_PER_CONTAINER, count);
  return Array.from({ length: Math.max(0, Math.min(per, count - ordinal * per)) }, (_, k) => hollowNodeName(ordinal * per + k + 1));
}

/** Removes the namespace of our hollow pods on the external cluster when it carries our labels; whether there was one. */
export async function removeHollowNamespace(ext: ExternalCluster, cluster: string, signal?: AbortSignal): Promise<boolean> {
  const opts = signal ? { signal } : {};
  const namespace = hollowNamespace(cluster);
  const existing = await ext.kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'json'], opts);
  if (!existing.trim()) return false;
  const labels = (JSON.parse(existing) as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
  if (labels['local-cluster.dev/hollow-nodes-of'] !== cluster) return false;
  await ext.kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=120s'], opts);
  return true;
}

/** Removes the image `up` loaded into a local external cluster's nodes, unless hollow nodes of another cluster still run there; whether it was removed. */
export async function removeLoadedImage(ext: ExternalCluster, image: string, signal?: AbortSignal): Promise<boolean> {
  if (!ext.localNodes) return false;
  const opts = signal ? { signal } : {};
  const others = await ext.kubectl(['get', 'namespaces', '-l', 'local-cluster.dev/hollow-nodes-of', '-o', 'name'], opts);
  if (others.trim()) return false;
  await Promise.all(ext.localNodes.map((n) => n.run(['ctr', '-n', 'k8s.io', 'images', 'rm', image], opts)));
  return true;
}

/** Pods of ours on the external cluster: how many, how many Running, on which nodes. */
export async function hollowPodStatus(ext: ExternalCluster, cluster: string, signal?: AbortSignal): Promise<{ pods: number; running: number; nodes: string[]; waiting: string[] }> {
  const text = await ext.kubectl(['-n', hollowNamespace(cluster), 'get', 'pods', '-l', `local-cluster.dev/hollow-nodes-of=${cluster}`, '-o', 'json'], signal ? { signal } : {});
  const items = (JSON.parse(text) as { items: { metadata: { name: string }; spec?: { nodeName?: string }; status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] } }[] }).items;
  const waiting: string[] = [];
  for (const p of items) {
    const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (unscheduled) waiting.push(`${p.metadata.name}: ${unscheduled.reason ?? 'not scheduled'}: ${unscheduled.message ?? ''}`);
    for (const c of p.status?.containerStatuses ?? []) if (c.state?.waiting?.reason && c.state.waiting.reason !== 'ContainerCreating') waiting.push(`${p.metadata.name}: ${c.state.waiting.reason}: ${c.state.waiting.message ?? ''}`);
  }
  return { pods: items.length, running: items.filter((p) => p.status?.phase === 'Running').length, nodes: [...new Set(items.map((p) => p.spec?.nodeName ?? '').filter(Boolean))].sort(), waiting };
}

/** Whether a local cluster's node already holds the image (so it is not streamed again). */
export async function nodeHasImage(node: NodeHandle, ref: string, signal?: AbortSignal): Promise<boolean> {
  const r = await node.run(['ctr', '-n', 'k8s.io', 'images', 'ls', '-q', `name==${ref}`], signal ? { signal } : {}).catch(() => undefined);
  return Boolean(r?.stdout.trim());
}

