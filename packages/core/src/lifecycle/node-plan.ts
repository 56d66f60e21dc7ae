import { TAINT_PATTERN, type ResolvedConfig } from '../config/schema.js';
import type { NodeRole } from '../contracts/driver.js';
import type { Addon } from '../contracts/addon.js';
import { nthAddress, nthAddress6, parseCidr } from '../config/schema.js';
import { hasIpv6, ipv6Ranges } from '../config/ip-family.js';
import { controlPlaneHostname, LOAD_BALANCER_HOSTNAME, workerHostname } from './naming.js';

/** What the config asks of one node: its labels, taints, mounts and port mappings. */
export type NodeSettings = ResolvedConfig['cluster']['controlPlane'];

export interface PlannedNode {
  readonly hostname: string;
  readonly role: NodeRole;
  /** The node's place: 0.. the control planes, then the workers. */
  readonly index: number;
  /** Its fixed address on the cluster network: .(2 + index) of dind.subnet. */
  readonly address: string;
  /** Its fixed IPv6 address, with cluster.ipFamily ipv6 or dual: .(2 + index) of dind.subnet6. */
  readonly address6?: string;
  /** The worker group it belongs to (its name, or group-N). */
  readonly group?: string;
  readonly settings: NodeSettings;
}

/**
 * The cluster's nodes as the config lays them out: which nodes, their roles, settings and fixed
 * addresses, and what follows from the layout. Made once per `up` (its context carries it as
 * `plan`); the steps and modes read it there instead of working it out from the config again.
 */
export interface NodePlan {
  /** Every node, in order: the control planes, then the workers. */
  readonly nodes: readonly PlannedNode[];
  /** The API servers' load balancer, with several control planes only: the address after the last node's. */
  readonly loadBalancer?: { readonly hostname: string; readonly address: string };
  /** The address the API server is reached at on the cluster network, without a Service: the load balancer's, else the first control plane's. */
  readonly apiEndpointAddress: string;
  /** Whether control planes carry no NoSchedule taint: no workers, or cluster.noDedicated. */
  readonly controlPlanesSchedulable: boolean;
}

const NO_SETTINGS: NodeSettings = { labels: {}, taints: [], extraMounts: [], extraPortMappings: [], kubeadmPatches: [] };

/**
 * The node plan of a config: kube-master (kube-master-2.. with cluster.controlPlanes), then
 * kube-node-1.. filled from cluster.workers groups in order (or cluster.numNodes plain workers),
 * on consecutive addresses from .2 of dind.subnet, and the load balancer after them with several
 * control planes. The one place that decides how many nodes a cluster has and what each is.
 * cluster.controlPlane's settings apply to every control plane, except its port mappings: only
 * the first publishes them (a host port can be mapped once), and the first also publishes the
 * addons' port mappings (Addon.portMappings).
 */
export function planNodes(config: ResolvedConfig, addons: readonly Pick<Addon, 'portMappings'>[] = []): NodePlan {
  const subnet = config.dind.subnet;
  const own = config.cluster.controlPlane ?? NO_SETTINGS;
  const published = addons.flatMap((a) => a.portMappings?.(config) ?? []).map((p) => ({ listenAddress: '127.0.0.1', protocol: 'TCP' as const, ...p }));
  const cp = published.length ? { ...own, extraPortMappings: [...own.extraPortMappings, ...published] } : own;
  const nodes: PlannedNode[] = [];
  const subnet6 = hasIpv6(config) ? ipv6Ranges(config).node : undefined;
  const add = (node: Omit<PlannedNode, 'address'>) =>
    nodes.push({ ...node, address: nthAddress(subnet, 2 + node.index), ...(subnet6 ? { address6: nthAddress6(subnet6, 2 + node.index) } : {}) });
  for (let i = 0; i < config.cluster.controlPlanes; i++) {
    add({ hostname: controlPlaneHostname(i), role: 'control-plane', index: i, settings: i === 0 ? cp : { ...cp, extraPortMappings: [] } });
  }
  const first = nodes.length;
  let worker = 1;
  const groups = config.cluster.workers;
  if (groups) {
    groups.forEach((group, g) => {
      const { count, name, ...settings } = group;
      for (let i = 0; i < count; i++, worker++) {
        add({ hostname: workerHostname(worker), role: 'worker', index: first + worker - 1, group: name ?? `group-${g + 1}`, settings });
      }
    });
  } else for (; worker <= config.cluster.numNodes; worker++) add({ hostname: workerHostname(worker), role: 'worker', index: first + worker - 1, settings: NO_SETTINGS });
  const loadBalancer = config.cluster.controlPlanes > 1 ? { hostname: LOAD_BALANCER_HOSTNAME, address: nthAddress(subnet, 2 + nodes.length) } : undefined;
  return {
    nodes,
    ...(loadBalancer ? { loadBalancer } : {}),
    // an IPv6 cluster's pods have IPv6 addresses only
    apiEndpointAddress: loadBalancer?.address ?? (config.cluster.ipFamily === 'ipv6' ? nodes[0]!.address6! : nodes[0]!.address),
    controlPlanesSchedulable: config.cluster.noDedicated || nodes.every((n) => n.role === 'control-plane'),
  };
}

/** The planned node of that hostname, if the plan has one. */
export function plannedNode(plan: NodePlan, hostname: string): PlannedNode | undefined {
  return plan.nodes.find((n) => n.hostname === hostname);
}

/** "key=value:Effect" as the kubeadm/Kubernetes taint object. */
export function parseTaint(text: string): { key: string; value?: string; effect: string } {
  const m = TAINT_PATTERN.exec(text);
  if (!m) throw new Error(`not a taint: ${text}`);
  return { key: m[1]!, ...(m[2] !== undefined && m[2] !== '' ? { value: m[2] } : {}), effect: m[3]! };
}

/**
 * The fixed address of what an addon attaches to the cluster's network (the local registry):
 * 50 below the top of dind.subnet, clear of the nodes and the load balancer (from .2 up, at most
 * 61), the hollow-node containers (the 40 below kwok's) and kwok (the last usable address).
 */
export function attachedAddress(config: ResolvedConfig): string {
  const prefix = parseCidr(config.dind.subnet)?.prefix ?? 16;
  return nthAddress(config.dind.subnet, 2 ** (32 - prefix) - 50);
}
