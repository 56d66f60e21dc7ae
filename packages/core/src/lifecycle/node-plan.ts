import { TAINT_PATTERN, type ResolvedConfig } from '../config/schema.js';
import type { NodeRole } from '../contracts/driver.js';
import { CONTROL_PLANE_HOSTNAME, workerHostname } from './naming.js';

/** What the config asks of one node: its labels, taints, mounts and port mappings. */
export type NodeSettings = ResolvedConfig['cluster']['controlPlane'];

export interface PlannedNode {
  hostname: string;
  role: NodeRole;
  /** 0 for the control plane, 1.. for workers: the node's address is .(2 + index) of dind.subnet. */
  index: number;
  /** The worker group it belongs to (its name, or group-N). */
  group?: string;
  settings: NodeSettings;
}

const NO_SETTINGS: NodeSettings = { labels: {}, taints: [], extraMounts: [], extraPortMappings: [] };

/**
 * Every node of the cluster, in order: kube-master, then kube-node-1.. filled from
 * cluster.workers groups in order (or cluster.numNodes plain workers). The one
 * place that decides how many nodes a cluster has and what each is.
 */
export function planNodes(config: ResolvedConfig): PlannedNode[] {
  const nodes: PlannedNode[] = [{ hostname: CONTROL_PLANE_HOSTNAME, role: 'control-plane', index: 0, settings: config.cluster.controlPlane ?? NO_SETTINGS }];
  const groups = config.cluster.workers;
  let index = 1;
  if (groups) {
    groups.forEach((group, g) => {
      const { count, name, ...settings } = group;
      for (let i = 0; i < count; i++, index++) {
        nodes.push({ hostname: workerHostname(index), role: 'worker', index, group: name ?? `group-${g + 1}`, settings });
      }
    });
  }
  else for (; index <= config.cluster.numNodes; index++) nodes.push({ hostname: workerHostname(index), role: 'worker', index, settings: NO_SETTINGS });
  return nodes;
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
