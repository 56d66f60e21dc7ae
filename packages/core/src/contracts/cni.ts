import type { NodeHandle } from './driver.js';
import type { ClusterContext, ImageRequirement } from './context.js';
import type { ResolvedConfig } from '../config/schema.js';

export const CNI_API_VERSION = 'local-cluster.dev/cni/v1' as const;

/** Changes a CNI needs in kubeadm's configuration before `kubeadm init`. */
export interface KubeadmPatches {
  /** networking.podSubnet; defaults to the plugin's defaultPodSubnet. */
  podSubnet?: string;
  /** Extra controller-manager args, e.g. allocate-node-cidrs. */
  controllerManagerArgs?: Record<string, string>;
  /** KubeProxyConfiguration fields, e.g. { mode: 'iptables' }. */
  kubeProxy?: Record<string, unknown>;
  /** KubeletConfiguration fields. */
  kubelet?: Record<string, unknown>;
}

export interface CniSupports {
  /** Can pods on different nodes talk (false: single node only). */
  multiNode: boolean;
  ipFamilies: ReadonlyArray<'ipv4' | 'ipv6'>;
  /** Enforces Kubernetes NetworkPolicy (the e2e policy checks run only then). */
  networkPolicy: boolean;
  /** Gives pods a network (default true). false: the "none" CNI; nodes stay NotReady and `up` waits for neither them nor CoreDNS. */
  podNetwork: boolean;
}

/**
 * A CNI plugin. Only `name`, `apiVersion`, `kind` and `defaultPodSubnet` are
 * required; each hook is optional, so the bridge plugin (node-side work only)
 * and manifest CNIs (images + manifests + readiness) fit without special cases.
 */
export interface CniPlugin {
  readonly apiVersion: typeof CNI_API_VERSION;
  readonly kind: 'cni';
  readonly name: string;
  readonly defaultPodSubnet: string;
  readonly supports?: Partial<CniSupports>;
  /**
   * Capabilities its pods need on every node beyond NODE_CAPABILITIES (e.g. BPF, PERFMON for an
   * eBPF dataplane), as Docker names them: SYS_RESOURCE, not CAP_SYS_RESOURCE. Nodes run with
   * no other capabilities unless the engine runs them privileged (dind.privileged "always").
   */
  readonly nodeCapabilities?: readonly string[];
  /** Images every node needs, preloaded before the CNI is installed. */
  images?(config: ResolvedConfig): ImageRequirement[];
  /** kubeadm / kube-proxy / kubelet patches applied before init. */
  configure?(config: ResolvedConfig): KubeadmPatches;
  /** Node-side work on every node after join (config files, routes). */
  prepareNode?(ctx: ClusterContext, node: NodeHandle): Promise<void>;
  /** Cluster-side work after init (apply manifests). */
  install?(ctx: ClusterContext): Promise<void>;
  /** Resolves when pod networking works. */
  waitReady?(ctx: ClusterContext): Promise<void>;
}
