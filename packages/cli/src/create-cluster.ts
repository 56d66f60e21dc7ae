import { readFileSync } from 'node:fs';
import { checkKnownKeys, clean, ConfigError, controlPlaneOf, down, imageCacheDir, kubectlOn, loadConfig, loadImages, localClusterHome, makeLogger, up, type Cluster, type ConfigInput, type ExecResult, type LoadedConfig, type NodeHandle, type ProgressListener, type ResolvedConfig } from '@local-cluster/core';
import { type NetcheckReport } from '@local-cluster/verify';
import { wireUp } from './wiring.js';
import { netcheckWithLoadBalancer } from './netcheck-run.js';
// type only: @kubernetes/client-node (Node 22+) loads when api() is first called, so the CLI and createCluster stay light
import type { Environment } from './framework/index.js';

/** What happens to the cluster when the handle is disposed. */
export type DisposeMode = 'clean' | 'down' | 'keep';

/** The config file's settings (partial, typed) plus the library's own options. */
export interface CreateClusterOptions extends ConfigInput {
  /**
   * Reuse the cluster of this name when it is up already from the same config (the fast path of
   * watch-mode test loops): no `up`, and disposing leaves it running.
   */
  reuse?: boolean;
  /**
   * On dispose: `clean` (default: no Docker object of the cluster is left), `down` (keep the
   * snapshot, so the next createCluster with the same config restores it in seconds), or `keep`.
   */
  onDispose?: DisposeMode;
  /** A config file to read first (like LOCAL_CLUSTER_CONF); these options win over it. */
  configFile?: string;
  /** Where plugin paths (`./my-cni`), package names and manifest files resolve from without a config file. Default: the current directory. */
  baseDir?: string;
  /** The tool's home (kubeconfigs, caches, logs). Default: $LOCAL_CLUSTER_HOME or ~/.local-cluster. */
  home?: string;
  /** Merge the kubeconfig into this file; default false (a test harness leaves the user's kubeconfig alone). */
  userKubeconfig?: string | false;
  /** Progress events (steps with durations, logs). */
  onEvent?: ProgressListener;
  /** Cancels `up` (what it made is removed). */
  signal?: AbortSignal;
  /** Remove the cluster when the process gets SIGINT or SIGTERM while the handle is live (default true). */
  cleanupOnSignal?: boolean;
}

const LIBRARY_OPTIONS = ['reuse', 'onDispose', 'configFile', 'baseDir', 'home', 'userKubeconfig', 'onEvent', 'signal', 'cleanupOnSignal'] as const;

/** A running cluster for a test: its kubeconfig, kubectl, node exec, image loading, logs; disposable. */
export interface ClusterHandle extends AsyncDisposable {
  readonly name: string;
  readonly config: ResolvedConfig;
  /** The admin kubeconfig file (server https://127.0.0.1:<port>, or a remote engine's host). */
  readonly kubeconfigPath: string;
  /** Its content, for API clients (`KubeConfig.loadFromString`). */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> (a remote engine: https://<its host>:<port>; see cluster.apiServerAddress) */
  readonly server: string;
  readonly contextName: string;
  readonly nodes: readonly NodeHandle[];
  /** Whether this call brought the cluster back from its snapshot, or found it up already (reuse). */
  readonly restored: boolean;
  readonly reused: boolean;
  /** What it supports, for skipping tests: NetworkPolicy (the CNI enforces it), StorageClass, Metrics, Dashboard (addons). */
  readonly features: readonly string[];
  /** Runs kubectl (the cluster's own, on the control plane) and returns its stdout; throws with its stderr. */
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<string>;
  /** Runs a command on a node (`kube-master`, `kube-node-1`, ...); never throws on a non-zero exit. */
  exec(node: string, argv: readonly string[]): Promise<ExecResult>;
  /** Loads images from the Docker engine into every node (like `kind load docker-image`). */
  loadImage(...refs: string[]): Promise<void>;
  /** A pod's logs (`kubectl logs`). */
  logs(namespace: string, pod: string, options?: { container?: string; previous?: boolean }): Promise<string>;
  /** API clients (@kubernetes/client-node, loaded on first call) for this cluster, with the test framework's namespaces and helpers. */
  api(): Promise<Environment>;
  /**
   * Service truth tables (`local-cluster netcheck`) on this cluster: every case, or those named;
   * installs the metallb addon first when the loadbalancer case runs and nothing implements LoadBalancer.
   */
  netcheck(cases?: readonly string[]): Promise<NetcheckReport>;
  /** Leave the cluster running at dispose whatever `onDispose` says (call it when a test failed, to debug). */
  keep(): void;
  /** Disposes as `onDispose` says; safe to call twice. */
  dispose(): Promise<void>;
}

function checkOptions(options: CreateClusterOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError('createCluster takes an options object, e.g. { cluster: { numNodes: 1 } }.', { source: { kind: 'library' } });
  }
  checkKnownKeys(options, [], undefined, LIBRARY_OPTIONS);
  const mode = options.onDispose;
  if (mode !== undefined && !['clean', 'down', 'keep'].includes(mode)) {
    throw new ConfigError(`Invalid value ${JSON.stringify(mode)} for onDispose (options passed to the library): use "clean", "down" or "keep".`, { setting: 'onDispose', source: { kind: 'library' } });
  }
  for (const key of ['reuse', 'cleanupOnSignal'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new ConfigError(`Invalid value ${JSON.stringify(options[key])} for ${key} (options passed to the library): must be true or false.`, { setting: key, source: { kind: 'library' } });
    }
  }
}

/**
 * One call for a cluster, resolving the CNI and addons by name exactly as the CLI does:
 *
 *   await using cluster = await createCluster({ cluster: { numNodes: 1, cniPlugin: 'flannel' } });
 *   await cluster.kubectl(['get', 'nodes']);
 *
 * Disposed at scope exit (also when the scope throws), and on SIGINT/SIGTERM while live.
 */
export async function createCluster(options: CreateClusterOptions = {}): Promise<ClusterHandle> {
  checkOptions(options);
  const { reuse, onDispose = 'clean', configFile, baseDir, home = localClusterHome(), userKubeconfig = false, onEvent, signal, cleanupOnSignal = true, ...settings } = options;
  const given: LoadedConfig = loadConfig({ ...(configFile ? { file: configFile } : {}), ...(baseDir ? { cwd: baseDir } : {}), env: {}, overrides: settings });
  const { loaded, ...wired } = await wireUp(given, onEvent);
  const { driver, cni, addons } = wired;
  const { config } = loaded;
  const name = config.cluster.name;

  // Ctrl-C while up runs or the handle is live: remove the cluster, then let the signal do what it would have done
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('interrupted'));
  signal?.addEventListener('abort', abort, { once: true });
  let disposed = false;
  let keepIt = onDispose === 'keep';
  const remove = async () => {
    if (disposed) return;
    disposed = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signal?.removeEventListener('abort', abort);
    if (keepIt || reusedCluster) return;
    if (onDispose === 'down') await down({ driver, cluster: name });
    else await clean({ driver, cluster: name, home, userKubeconfig });
  };
  let reusedCluster = false;
  const onSignal = (sig: NodeJS.Signals) => {
    abort();
    // up's own rollback removes a half-made cluster; a made one is removed here
    void (cluster ? remove() : Promise.resolve()).finally(() => {
      process.kill(process.pid, sig);
    });
  };
  let cluster: Cluster | undefined;
  if (cleanupOnSignal) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    cluster = await up({
      config,
      ...wired,
      home,
      userKubeconfig,
      signal: controller.signal,
      ...(onEvent ? { onEvent } : {}),
    });
  } catch (error) {
    disposed = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw error;
  }
  reusedCluster = Boolean(reuse && cluster.alreadyUp);
  const made = cluster;
  const controlPlane = controlPlaneOf(made.nodes);
  const nodeByName = (host: string) => {
    const node = made.nodes.find((n) => n.hostname === host);
    if (!node) throw new ConfigError(`Cluster "${name}" has no node "${host}"; it has ${made.nodes.map((n) => n.hostname).join(', ')}.`);
    return node;
  };
  let api: Environment | undefined;
  const handle: ClusterHandle = {
    name,
    config,
    kubeconfigPath: made.kubeconfigPath,
    kubeconfig: readFileSync(made.kubeconfigPath, 'utf8'),
    server: made.apiServerUrl,
    contextName: made.contextName,
    nodes: made.nodes,
    restored: made.restored,
    reused: reusedCluster,
    features: [
      ...(cni.supports?.networkPolicy ? ['NetworkPolicy'] : []),
      ...(addons.some((a) => a.name === 'storage') ? ['StorageClass'] : []),
      ...(addons.some((a) => a.name === 'metrics-server') ? ['Metrics'] : []),
      ...(addons.some((a) => a.name === 'dashboard') ? ['Dashboard'] : []),
      ...(addons.some((a) => a.name === 'metallb') ? ['LoadBalancer'] : []),
    ],
    kubectl: (args, opts) => kubectlOn(controlPlane, args, opts),
    exec: (host, argv) => nodeByName(host).run(argv),
    loadImage: async (...refs) => {
      await loadImages(refs, { driver, cluster: name, logger: makeLogger(onEvent, () => 'load image'), signal: controller.signal, cacheDir: imageCacheDir(home) });
    },
    logs: (namespace, pod, opts = {}) =>
      kubectlOn(controlPlane, ['-n', namespace, 'logs', pod, ...(opts.container ? ['-c', opts.container] : []), ...(opts.previous ? ['--previous'] : [])]),
    netcheck: (cases = []) =>
      netcheckWithLoadBalancer(loaded, { driver, cases, home, logger: makeLogger(onEvent, () => 'netcheck'), signal: controller.signal }),
    api: async () => (api ??= (await import('./framework/index.js')).environment(handle)),
    keep: () => {
      keepIt = true;
    },
    dispose: remove,
    [Symbol.asyncDispose]: remove,
  };
  return handle;
}
