import { cidrsOverlap } from '../config/schema.js';
import type { Logger } from '../contracts/context.js';
import { LABELS, type Driver, type NodeHandle, type Selector } from '../contracts/driver.js';
import { sharedNetworkSelector } from './shared-network.js';
import { ConfigError, LocalClusterError } from '../errors.js';
import { clusterPodSubnet } from './cluster-facts.js';
import { controlPlaneOf, kubectlOn } from './context.js';
import { runningNodes } from './load.js';
import { API_SERVER_PORT, LOAD_BALANCER_HOSTNAME, networkName, upCommandFor } from './naming.js';

export interface ConnectOptions {
  driver: Driver;
  /** The two clusters to join, by name. */
  clusters: readonly [string, string];
  logger?: Logger;
  signal?: AbortSignal;
}

/** One side of a connection, as the other side's pods reach it. */
export interface ConnectedCluster {
  name: string;
  /** Its node network and that network's subnet (dind.subnet). */
  network: string;
  subnet: string;
  /** Its API server on its network, for the other cluster's pods (`kubeconfig --internal` names it). */
  apiServer: string;
  podSubnet: string | undefined;
}

export interface ConnectResult {
  clusters: [ConnectedCluster, ConnectedCluster];
  /** Each node attached to the other cluster's network, and its address there. */
  attached: { node: string; cluster: string; network: string; address: string }[];
  /** Pod CIDRs routed from the other cluster's nodes (node name -> CIDR via address), or why none were. */
  podRoutes: { cluster: string; cidr: string; via: string }[];
  /** Set when pod addresses cannot be routed (the two pod subnets overlap). */
  podRoutesSkipped?: string;
}

interface Side {
  name: string;
  nodes: NodeHandle[];
  network: string;
  subnet: string;
  /** Who owns the network: the cluster, or no one (a shared network, dind.network). */
  selector: Selector;
}

/** A running cluster's node containers (and load balancer) and its network; refuses a cluster that does not exist. */
async function sideOf(driver: Driver, name: string, signal?: AbortSignal): Promise<Side> {
  const opts = signal ? { signal } : {};
  const [containers, networks] = await Promise.all([
    Promise.all([driver.listNodes({ cluster: name, role: 'node' }, opts), driver.listNodes({ cluster: name, role: 'load-balancer' }, opts)]).then((l) => l.flat()),
    driver.listNetworks({ cluster: name, role: 'network' }, opts),
  ]);
  if (containers.length === 0) {
    throw new ConfigError(`Cluster "${name}" does not exist: no node containers carry its labels.`, {
      setting: 'cluster.name',
      hint: `\`local-cluster list\` shows the clusters there are; \`${upCommandFor(name)}\` makes this one.`,
    });
  }
  await runningNodes(driver, name, signal);
  const shared = containers[0]!.labels[LABELS.sharedNetwork];
  const block = containers[0]!.labels[LABELS.block];
  if (shared && block) return { name, nodes: containers, network: shared, subnet: block, selector: sharedNetworkSelector(shared) };
  const network = networks.find((n) => n.name === networkName(name)) ?? networks[0];
  const subnet = network?.subnets[0];
  if (!network || !subnet) throw new LocalClusterError(`Cluster "${name}" has no network of its own (its network was removed?).`, { hint: `Run \`local-cluster clean --name ${name}\` and bring it up again.` });
  return { name, nodes: containers, network: network.name, subnet, selector: { cluster: name, role: 'network' } };
}

/**
 * Joins two running clusters: every node (and load balancer) of each is attached to the other's
 * network, at the top of its subnet, so pods of either reach the other's nodes directly: its API
 * server, its NodePorts, and, when the pod subnets do not overlap, its pods (each node gets a route
 * to every pod CIDR of the other cluster via the node that holds it). A cluster's pods leave their
 * node masqueraded by the bridge CNI, so the other side needs no return route. Lasts while the
 * node containers do: after `down` and `up` of either, connect again.
 */
export async function connectClusters(options: ConnectOptions): Promise<ConnectResult> {
  const { driver, signal } = options;
  const [a, b] = options.clusters;
  if (a === b) throw new ConfigError(`Cannot connect cluster "${a}" to itself.`, { setting: 'cluster.name', hint: 'Name two different clusters: local-cluster connect A B.' });
  // both sides exist and run before anything is changed
  const sides = [await sideOf(driver, a, signal), await sideOf(driver, b, signal)] as const;
  if (!driver.connectNetwork && sides[0].network !== sides[1].network) throw new LocalClusterError(`Driver "${driver.name}" cannot attach nodes to other networks.`, { hint: 'Use the Docker driver.' });
  if (cidrsOverlap(sides[0].subnet, sides[1].subnet)) {
    throw new ConfigError(`Clusters "${a}" and "${b}" have overlapping node networks (${sides[0].subnet} and ${sides[1].subnet}): a node could not tell them apart.`, {
      setting: 'dind.subnet',
      hint: `Bring one of them up again with another --dind-subnet.`,
    });
  }
  const opts = signal ? { signal } : {};
  const kubectlFor = (side: Side) => (args: readonly string[]) => kubectlOn(controlPlaneOf(side.nodes.filter((n) => n.hostname !== LOAD_BALANCER_HOSTNAME)), args, opts);
  const podSubnets = await Promise.all(sides.map((s) => clusterPodSubnet(kubectlFor(s))));
  const attached: ConnectResult['attached'] = [];
  // on one shared network (dind.network) already: only pod routes to add
  const onOneNetwork = sides[0].network === sides[1].network;
  for (const [from, to] of onOneNetwork ? [] : ([[sides[0], sides[1]], [sides[1], sides[0]]] as const)) {
    for (const node of from.nodes) {
      const address = await driver.connectNetwork!(to.network, node.name, { ...opts, selector: to.selector });
      attached.push({ node: node.name, cluster: from.name, network: to.network, address });
      options.logger?.info(`${from.name}/${node.hostname} on network ${to.network} at ${address}`);
    }
  }
  const result: ConnectResult = {
    clusters: sides.map((s, i) => ({
      name: s.name,
      network: s.network,
      subnet: s.subnet,
      apiServer: '',
      podSubnet: podSubnets[i],
    })) as [ConnectedCluster, ConnectedCluster],
    attached,
    podRoutes: [],
  };
  // the API server's address: read it rather than work it out (the load balancer's, else the first control plane's)
  for (const [i, side] of sides.entries()) {
    const entry = side.nodes.find((n) => n.hostname === LOAD_BALANCER_HOSTNAME) ?? controlPlaneOf(side.nodes.filter((n) => n.hostname !== LOAD_BALANCER_HOSTNAME));
    result.clusters[i]!.apiServer = `https://${await entry.ip(opts)}:${API_SERVER_PORT}`;
  }
  const [pa, pb] = podSubnets;
  if (!pa || !pb || cidrsOverlap(pa, pb)) {
    result.podRoutesSkipped = pa && pb ? `the pod subnets overlap (${a}: ${pa}, ${b}: ${pb}); bring one up with another --pod-subnet to reach pod addresses` : 'a pod subnet is unknown';
    options.logger?.info(`pod addresses are not routed: ${result.podRoutesSkipped}`);
    return result;
  }
  for (const [from, to] of [[sides[0], sides[1]], [sides[1], sides[0]]] as const) {
    const text = await kubectlFor(to)(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{"\\n"}{end}']);
    const cidrs = text.split('\n').map((l) => l.trim().split(' ')).filter((p) => p.length === 2 && p[1]);
    for (const [hostname, cidr] of cidrs) {
      const holder = to.nodes.find((n) => n.hostname === hostname);
      if (!holder) continue;
      const via = await holder.ip(opts);
      await Promise.all(from.nodes.filter((n) => n.hostname !== LOAD_BALANCER_HOSTNAME).map((n) => n.exec(['ip', 'route', 'replace', cidr!, 'via', via], opts)));
      result.podRoutes.push({ cluster: from.name, cidr: cidr!, via });
    }
  }
  return result;
}
