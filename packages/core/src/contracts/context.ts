import type { Driver, NodeHandle } from './driver.js';
import type { ResolvedConfig } from '../config/schema.js';

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
  /** Applies a YAML manifest (one or more documents) through the control plane. */
  apply(manifest: string): Promise<void>;
}

/** An image a cluster needs, and how to make it without a registry. */
export interface ImageRequirement {
  /** Reference exactly as manifests name it, e.g. `docker.io/flannel/flannel:v0.26.1`. */
  ref: string;
  /** Builds the image into the driver when it is missing. Absent: it must already exist. */
  build?(ctx: ImageBuildContext): Promise<void>;
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
