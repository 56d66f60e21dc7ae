import type { ClusterContext, ImageRequirement, Logger } from './context.js';
import type { Driver } from './driver.js';
import type { ResolvedConfig } from '../config/schema.js';

export const ADDON_API_VERSION = 'local-cluster.dev/addon/v1' as const;

/**
 * The pod label (value "true") that tells `up` not to wait for a pod: a service the cluster's
 * users do not need at `up`'s return (metrics-server, Ready after its first scrape). A restore
 * does not wait for such pods either; every other pod that ran before `down` it waits for.
 */
export const BACKGROUND_LABEL = 'local-cluster.dev/background';

/**
 * An addon: images, manifests and a readiness check, installed after the CNI. `up` waits for
 * `waitReady`: make it wait for what a user needs at `up`'s return, no more.
 */
export interface Addon {
  readonly apiVersion: typeof ADDON_API_VERSION;
  readonly kind: 'addon';
  readonly name: string;
  /** Names of addons that must be installed first. */
  readonly dependsOn?: readonly string[];
  /**
   * When a fresh `up` runs `install`: 'cni' (the default) once every node has joined and the
   * CNI is installed; 'kubeadm-init' as soon as the first control plane serves the API, while
   * the other nodes join. The latter suits an install that only creates objects whose pods may
   * start later (they schedule once the nodes are Ready, after the CNI), and takes it off
   * `up`'s critical path. An addon is installed early only if those it depends on are too.
   */
  readonly installAfter?: 'kubeadm-init' | 'cni';
  images?(config: ResolvedConfig): ImageRequirement[];
  /**
   * Checks made in `up`'s preflight, before anything is made (restore included): throw a typed
   * error naming the setting. For addons that keep objects on the engine (a port they publish,
   * a container name they take).
   */
  preflight?(ctx: EngineContext): Promise<void>;
  /**
   * Runs at every `up`, restore included, once the cluster's network exists and before its nodes
   * start: makes or starts what the addon keeps on the engine beside the cluster (the local
   * registry, shared by clusters) and attaches it to `ctx.network`.
   */
  attach?(ctx: EngineContext & {
    readonly network: string;
    /** The fixed address on that network kept for what addons attach (clear of the nodes', hollow nodes' and kwok's). */
    readonly address: string;
  }): Promise<void>;
  /**
   * Ports of the first control plane's container the addon publishes on the host (added to
   * cluster.controlPlane.extraPortMappings when its nodes are made, restore included): an ingress
   * controller on that node's host network reached at 127.0.0.1:PORT. Check them in `preflight`
   * to name the addon's own setting when one is taken.
   */
  portMappings?(config: ResolvedConfig): AddonPortMapping[];
  install(ctx: ClusterContext): Promise<void>;
  waitReady?(ctx: ClusterContext): Promise<void>;
}

/** A port of the first control plane's container published on the host. */
export interface AddonPortMapping {
  containerPort: number;
  hostPort: number;
  /** Default 127.0.0.1. */
  listenAddress?: string;
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP';
}

/** What `preflight` and `attach` get: the engine, not the cluster's nodes (there are none yet). */
export interface EngineContext {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The image factory's cache directory (for `ensureImage`: a restore builds no images). */
  readonly cacheDir: string;
}
