import type { ClusterContext, ImageRequirement } from './context.js';
import type { ResolvedConfig } from '../config/schema.js';

export const ADDON_API_VERSION = 'local-cluster.dev/addon/v1' as const;

/** An addon: images, manifests and a readiness check, installed after the CNI. */
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
