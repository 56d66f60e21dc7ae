import { TAINT_PATTERN, type ResolvedConfig } from '../config/schema.js';
import type { NodeRole } from '../contracts/driver.js';
import { nthAddress } from '../config/schema.js';
import { controlPlaneHostname, workerHostname } from './naming.js';

/** What the config asks of one node: its labels, taints, mounts and port mappings. */
export type NodeSettings = ResolvedConfig['cluster']['controlPlane'];

export interface PlannedNode {
  hostname: string;
  role: NodeRole;
  /** The node's place: 0.. the control planes, then the workers; its address is .(2 + index) of dind.subnet. */
  index: number;
  /** The worker group it belongs to (its name, or group-N). */
  group?: string;
  settings: NodeSettings;
}

const NO_SETTINGS: NodeSettings = { labels: {}, taints: [], extraMounts: [], extraPortMappings: [] };

/**
 * Every node of the cluster, in order: kube-master (kube-master-2.. with cluster.controlPlanes),
 * then kube-node-1.. filled from cluster.workers groups in order (or cluster.numNodes plain
 * workers). The one place that decides how many nodes a cluster has and what each is.
 * cluster.controlPlane's settings apply to every control plane, except its port mappings:
 * only the first publishes them (a host port can be mapped once).
 */
export function planNodes(config: ResolvedConfig): PlannedNode[] {
  const cp = config.cluster.controlPlane ?? NO_SETTINGS;
  const nodes: PlannedNode[] = [];
  for (let i = 0; i < config.cluster.controlPlanes; i++) {
    nodes.push({ hostname: controlPlaneHostname(i), role: 'control-plane', index: i, settings: i === 0 ? cp : { ...cp, extraPortMappings: [] } });
  }
  const first = nodes.length;
  let worker = 1;
  const groups = config.cluster.workers;
  if (groups) {
    groups.forEach((group, g) => {
      const { count, name, ...settings } = group;
      for (let i = 0; i < count; i++, worker++) {
        nodes.push({ hostname: workerHostname(worker), role: 'worker', index: first + worker - 1, group: name ?? `group-${g + 1}`, settings });
      }
    });
  } else for (; worker <= config.cluster.numNodes; worker++) nodes.push({ hostname: workerHostname(worker), role: 'worker', index: first + worker - 1, settings: NO_SETTINGS });
  return nodes;
}

/** A node's fixed address on the cluster network. */
export function nodeAddress(config: ResolvedConfig, node: PlannedNode): string {
  return nthAddress(config.dind.subnet, 2 + node.index);
}

/** Whether the API servers sit behind a load balancer (more than one control plane). */
export function hasLoadBalancer(config: ResolvedConfig): boolean {
  return config.cluster.controlPlanes > 1;
}

/** The load balancer's fixed address: the one after the last node's. */
export function loadBalancerAddress(config: ResolvedConfig): string {
  return nthAddress(config.dind.subnet, 2 + planNodes(config).length);
}

/** The address the API server is reached at on the cluster network, without a Service: the load balancer with several control planes, else the first control plane's. */
export function apiEndpointAddress(config: ResolvedConfig): string {
  return hasLoadBalancer(config) ? loadBalancerAddress(config) : nodeAddress(config, planNodes(config)[0]!);
}

/** Whether control planes carry no NoSchedule taint: no workers, or cluster.noDedicated. */
export function controlPlanesSchedulable(config: ResolvedConfig): boolean {
  return config.cluster.noDedicated || planNodes(config).every((n) => n.role === 'control-plane');
}

export function plannedNode(config: ResolvedConfig, hostname: string): PlannedNode | undefined {
  return planNodes(config).find((n) => n.hostname === hostname);
}

/** "key=value:Effect" as the kubeadm/Kubernetes taint object. */
export function parseTaint(text: string): { key: string; value?: string; effect: string } {
  const m = TAINT_PATTERN.exec(text);
  if (!m) throw new Error(`not a taint: ${text}`);
  return { key: m[1]!, ...(m[2] !== undefined && m[2] !== '' ? { value: m[2] } : {}), effect: m[3]! };
}
