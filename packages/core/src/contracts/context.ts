import type { Driver, NodeHandle } from './driver.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ImageRecipe } from './image.js';

/** What a logger needs to be: the engine turns these into progress events. */
export interface Logger {
  info(message: string): void;
  debug(message: string): void;
  warn(message: string): void;
}

/** Handed to plugin hooks. Plugins reach the cluster only through this. */
export interface ClusterContext {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  /** Every node of the cluster, control plane first. */
  readonly nodes: readonly NodeHandle[];
  readonly controlPlane: NodeHandle;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The pod subnet that went into kubeadm (the CNI's default unless configured). */
  readonly podSubnet: string;
  /** Runs `kubectl` with the admin kubeconfig on the control-plane node. */
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<string>;
  /** Applies a manifest through the control plane: YAML (one or more documents) or Kubernetes objects. */
  apply(manifest: string | readonly object[]): Promise<void>;
  /**
   * Waits until a workload is rolled out (every pod Ready). On timeout it throws
   * an error naming the pods that are not Ready, why, and their last log lines.
   */
  waitForRollout(kind: 'daemonset' | 'deployment' | 'statefulset', namespace: string, name: string, options?: { timeoutSeconds?: number }): Promise<void>;
}

/** An image a cluster needs, and how to make it without a registry. */
export interface ImageRequirement {
  /** Reference exactly as manifests name it, e.g. `docker.io/flannel/flannel:v0.26.1`. */
  ref: string;
  /**
   * How the image factory builds it offline when the engine does not have it.
   * An image the engine already has from elsewhere (pulled, loaded) wins.
   */
  recipe?: ImageRecipe;
  /** A custom build (the node image), for what a recipe cannot describe. */
  build?(ctx: ImageBuildContext): Promise<void>;
  /** Why there is no recipe, shown when the engine lacks the image (e.g. what the module proxy refuses). */
  whyNoRecipe?: string;
  /**
   * Node images: paths on this machine of the Kubernetes programs the image carries
   * (kubeadm, kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy),
   * so flags and feature gates are checked by the very binaries before nodes are made.
   */
  binaries?(ctx: ImageBuildContext): Promise<Record<string, string>>;
  /**
   * Which nodes' containerd it is loaded into: every node (true, the default), none (false: the
   * node image itself, images that run beside the nodes), or only the control planes
   * (`'control-planes'`: an addon whose pods the manifest places there, with a nodeSelector on
   * `node-role.kubernetes.io/control-plane` and its taint tolerated). Loading into fewer nodes
   * is what makes `up` fast: every byte is written into each node it is loaded into.
   */
  loadIntoNodes?: boolean | 'control-planes';
}

export interface ImageBuildContext {
  readonly driver: Driver;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** A writable directory for build caches, kept between runs. */
  readonly cacheDir: string;
  /** Labels the built image must carry. */
  readonly labels: Record<string, string>;
}
