/**
 * The test framework (`local-cluster/framework`) for components developed outside Kubernetes (operators, CNIs, CSI drivers):
 * an environment over a cluster (createCluster's handle or any kubeconfig), a fresh namespace
 * with an API client per test, multi-document manifests applied with readiness waits, the
 * common assertions, features to skip by, parameters from env, flags or a YAML file, and
 * artifacts collected on failure. Runner-agnostic; the vitest recipes are in docs/testing/library.md.
 *
 * The API client is @kubernetes/client-node (the official JavaScript client, kept by SIG API
 * Machinery): typed APIs, and KubernetesObjectApi for objects of any kind read from YAML.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { ConfigError, waitFor } from '@local-cluster/core';
import type { ClusterHandle } from '../create-cluster.js';

export type Params = Record<string, string>;

export interface EnvironmentOptions {
  /** Test parameters: `LOCAL_CLUSTER_TEST_<NAME>` variables, `--param name=value` flags, and a YAML file (`paramsFile` or `$LOCAL_CLUSTER_TEST_PARAMS`). */
  paramsFile?: string;
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  /** Features the cluster supports beyond what the handle says (e.g. your CSI driver's). */
  features?: readonly string[];
}

/**
 * Parameters, later sources winning: the YAML file (a flat mapping), then `LOCAL_CLUSTER_TEST_*`
 * variables (name lower-cased, `_` -> `-`), then `--param name=value` flags. The names of before
 * the framework had its own (`LOCAL_CLUSTER_E2E_PARAMS`, `LOCAL_CLUSTER_E2E_*`) are still read,
 * below the new ones.
 */
export function readParams(options: EnvironmentOptions = {}): Params {
  const env = options.env ?? process.env;
  const params: Params = {};
  const [fileVar, file] = options.paramsFile
    ? ['paramsFile', options.paramsFile]
    : env.LOCAL_CLUSTER_TEST_PARAMS
      ? ['LOCAL_CLUSTER_TEST_PARAMS', env.LOCAL_CLUSTER_TEST_PARAMS]
      : ['LOCAL_CLUSTER_E2E_PARAMS', env.LOCAL_CLUSTER_E2E_PARAMS];
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`The test parameters file ${file} does not exist.`, { setting: fileVar, hint: 'Point it at a YAML file of name: value lines.' });
    const doc = yaml.load(readFileSync(file, 'utf8'));
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new ConfigError(`The test parameters file ${file} must be a mapping of name: value.`, { setting: fileVar });
    }
    for (const [k, v] of Object.entries((doc as Record<string, unknown>) ?? {})) params[k] = String(v);
  }
  for (const prefix of ['LOCAL_CLUSTER_E2E_', 'LOCAL_CLUSTER_TEST_']) {
    for (const [k, v] of Object.entries(env)) {
      if (k.startsWith(prefix) && k !== `${prefix}PARAMS` && v !== undefined) params[k.slice(prefix.length).toLowerCase().replace(/_/g, '-')] = v;
    }
  }
  const argv = options.argv ?? process.argv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = arg === '--param' ? argv[++i] : arg.startsWith('--param=') ? arg.slice(8) : undefined;
    if (value === undefined) continue;
    const eq = value.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--param ${value} must be name=value.`, { source: { kind: 'flag', name: 'param' } });
    params[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return params;
}

export interface PodReadyOptions {
  timeoutMs?: number;
}

/** Polls with core's waitFor, four times a second (these are API reads). */
function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  return waitFor(what, fn, { timeoutMs, intervalMs: 250 });
}

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A namespace of its own for one test, with clients scoped to it. Disposing deletes it (without waiting). */
export class TestNamespace implements AsyncDisposable {
  constructor(
    readonly name: string,
    readonly core: CoreV1Api,
    readonly apps: AppsV1Api,
    readonly objects: KubernetesObjectApi,
    /** How long creating it took (ms). */
    readonly setupMs: number,
  ) {}

  /**
   * Creates every object of a multi-document manifest (YAML text, a file path, or objects), in
   * order, in this namespace unless an object names another; then waits for the Pods,
   * Deployments, StatefulSets and DaemonSets it made to be ready.
   */
  async apply(manifest: string | readonly KubernetesObject[], options: { timeoutMs?: number } = {}): Promise<KubernetesObject[]> {
    const text = typeof manifest === 'string' ? (!manifest.includes('\n') && existsSync(manifest) ? await readFile(manifest, 'utf8') : manifest) : undefined;
    const docs = text !== undefined ? (yaml.loadAll(text) as KubernetesObject[]).filter((d) => d && typeof d === 'object') : [...manifest as readonly KubernetesObject[]];
    const created: KubernetesObject[] = [];
    for (const doc of docs) {
      if (!doc.kind || !doc.apiVersion) throw new Error(`a manifest document has no kind/apiVersion: ${JSON.stringify(doc).slice(0, 200)}`);
      const spec = { ...doc, metadata: { ...doc.metadata, namespace: doc.metadata?.namespace ?? this.name } };
      created.push(await this.objects.create(spec));
    }
    for (const obj of created) await this.waitReady(obj, options.timeoutMs ?? 120_000);
    return created;
  }

  private async waitReady(obj: KubernetesObject, timeoutMs: number): Promise<void> {
    const ns = obj.metadata?.namespace ?? this.name;
    const name = obj.metadata!.name!;
    switch (obj.kind) {
      case 'Pod':
        await this.podReady(name, { timeoutMs });
        return;
      case 'Deployment':
      case 'StatefulSet':
        await poll(`${obj.kind} ${ns}/${name} to be ready`, timeoutMs, async () => {
          const o = obj.kind === 'Deployment' ? await this.apps.readNamespacedDeployment({ name, namespace: ns }) : await this.apps.readNamespacedStatefulSet({ name, namespace: ns });
          const want = o.spec?.replicas ?? 1;
          return (o.status?.readyReplicas ?? 0) >= want && (o.status?.observedGeneration ?? 0) >= (o.metadata?.generation ?? 0) ? true : undefined;
        });
        return;
      case 'DaemonSet':
        await poll(`DaemonSet ${ns}/${name} to be ready`, timeoutMs, async () => {
          const o = await this.apps.readNamespacedDaemonSet({ name, namespace: ns });
          const want = o.status?.desiredNumberScheduled ?? 0;
          return want > 0 && (o.status?.numberReady ?? 0) >= want ? true : undefined;
        });
        return;
      default:
    }
  }

  /** Waits for a pod (by name, or the first matching a label selector `app=web`) to be Ready; returns it. */
  async podReady(nameOrSelector: string, options: PodReadyOptions = {}): Promise<V1Pod> {
    return poll(`pod ${nameOrSelector} in ${this.name} to be Ready`, options.timeoutMs ?? 120_000, async () => {
      const pod = nameOrSelector.includes('=')
        ? (await this.core.listNamespacedPod({ namespace: this.name, labelSelector: nameOrSelector })).items.find(isReady)
        : await this.core.readNamespacedPod({ name: nameOrSelector, namespace: this.name });
      return pod && isReady(pod) ? pod : undefined;
    });
  }

  /** GET through the API server's Service proxy until it answers 2xx; returns the body. */
  async serviceAnswers(service: string, port: number | string, path = '/', options: { timeoutMs?: number; contains?: string } = {}): Promise<string> {
    return poll(`Service ${this.name}/${service}:${port}${path} to answer`, options.timeoutMs ?? 60_000, async () => {
      const body = await this.core.connectGetNamespacedServiceProxyWithPath({ name: `${service}:${port}`, namespace: this.name, path: path.replace(/^\//, '') || '/' });
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return options.contains === undefined || text.includes(options.contains) ? text : undefined;
    });
  }

  /** Waits until the pod's (or its container's) logs contain the text; returns them. */
  async logsContain(pod: string, text: string, options: { container?: string; timeoutMs?: number } = {}): Promise<string> {
    return poll(`the logs of ${this.name}/${pod} to contain "${text}"`, options.timeoutMs ?? 60_000, async () => {
      const logs = await this.core.readNamespacedPodLog({ name: pod, namespace: this.name, ...(options.container ? { container: options.container } : {}) });
      return logs.includes(text) ? logs : undefined;
    });
  }

  /** Writes what a failure needs: pods (as JSON, like describe), events, and every container's logs, under dir/<namespace>/. */
  async collectArtifacts(dir: string): Promise<string> {
    const out = join(dir, this.name);
    await mkdir(out, { recursive: true });
    const pods = await this.core.listNamespacedPod({ namespace: this.name });
    await writeFile(join(out, 'pods.json'), JSON.stringify(pods.items, null, 2));
    const events = await this.core.listNamespacedEvent({ namespace: this.name });
    await writeFile(join(out, 'events.txt'), events.items.map((e) => `${e.lastTimestamp?.toISOString?.() ?? ''} ${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`).join('\n') + '\n');
    for (const pod of pods.items) {
      for (const c of pod.spec?.containers ?? []) {
        const logs = await this.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: this.name, container: c.name }).catch((e: Error) => `(no logs: ${e.message})`);
        await writeFile(join(out, `${pod.metadata!.name}.${c.name}.log`), logs);
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    // the namespace controller finishes the deletion; the next test does not wait for it
    await this.core.deleteNamespace({ name: this.name }).catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** A cluster seen by tests: API clients, features, parameters, and per-test namespaces. */
export interface Environment {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly objects: KubernetesObjectApi;
  readonly params: Params;
  readonly features: ReadonlySet<string>;
  /** Whether the cluster has every feature named (NetworkPolicy, StorageClass, Metrics, MultiNode, or yours). */
  supports(...features: string[]): boolean;
  /** A reason to skip when a feature is missing, else undefined: `it.skipIf(env.skipUnless('NetworkPolicy'))`. */
  skipUnless(...features: string[]): string | undefined;
  /** A fresh namespace (`test-<prefix>-xxxxx`) for one test. */
  namespace(prefix?: string): Promise<TestNamespace>;
}

/** Features a createCluster handle implies. */
export function clusterFeatures(cluster: Pick<ClusterHandle, 'nodes' | 'features'>): string[] {
  return [...cluster.features, ...(cluster.nodes.length > 1 ? ['MultiNode'] : [])];
}

/** An environment over a createCluster handle, a kubeconfig file path, or kubeconfig text. */
export function environment(source: ClusterHandle | { kubeconfigPath: string } | { kubeconfig: string }, options: EnvironmentOptions = {}): Environment {
  const kubeConfig = new KubeConfig();
  if ('kubeconfig' in source && typeof source.kubeconfig === 'string') kubeConfig.loadFromString(source.kubeconfig);
  else kubeConfig.loadFromFile((source as { kubeconfigPath: string }).kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const features = new Set<string>([...('features' in source ? clusterFeatures(source as ClusterHandle) : []), ...(options.features ?? [])]);
  const params = readParams(options);
  return {
    kubeConfig,
    core,
    apps,
    objects,
    params,
    features,
    supports: (...names) => names.every((n) => features.has(n)),
    skipUnless: (...names) => {
      const missing = names.filter((n) => !features.has(n));
      return missing.length ? `the cluster lacks ${missing.join(', ')}` : undefined;
    },
    async namespace(prefix = 'test') {
      const started = performance.now();
      const ns = await core.createNamespace({ body: { metadata: { generateName: `test-${prefix}-`, labels: { 'local-cluster.dev/test': 'true' } } } });
      const name = ns.metadata!.name!;
      // the default ServiceAccount is made by a controller shortly after; pods need it
      await poll(`the default ServiceAccount of ${name}`, 30_000, async () => ((await core.readNamespacedServiceAccount({ name: 'default', namespace: name }).catch(() => undefined)) ? true : undefined));
      return new TestNamespace(name, core, apps, objects, performance.now() - started);
    },
  };
}

export { cniSuite, addonSuite, type SuiteRunner, type SuiteOptions } from './suites.js';
