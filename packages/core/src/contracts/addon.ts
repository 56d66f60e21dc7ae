import type { ClusterContext, ImageRequirement } from './context.js';
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
  images?(config: ResolvedConfig): ImageRequirement[];
  install(ctx: ClusterContext): Promise<void>;
  waitReady?(ctx: ClusterContext): Promise<void>;
}
