import {
  CNI_API_VERSION,
  familiesOf,
  NODE_CONTRACT,
  parseCidr6,
  podRanges,
  waitFor,
  writeNodeFile,
  type ClusterContext,
  type CniPlugin,
  type NodeHandle,
} from '@local-cluster/core';

export interface BridgeOptions {
  /** Pod subnet for the cluster; each node gets a /24 of it from the controller manager. */
  podSubnet?: string;
  /** Name of the bridge on each node. */
  bridgeName?: string;
}

const CONFLIST_PATH = `${NODE_CONTRACT.cniConfDir}/10-local-cluster-bridge.conflist`;
/** Run by the node's entrypoint at every container start (each start brings a new netns). */
const HOOK_PATH = `${NODE_CONTRACT.entrypointHookDir}/50-pod-network.sh`;

/**
 * Routes to the other nodes' pod CIDRs and masquerading of traffic leaving the pod network, for
 * each pod range given (one per address family of the cluster: IPv6 ones get `ip -6` routes,
 * ip6tables and forwarding turned on, which a node's network namespace starts without).
 */
export function podNetworkHook(podSubnets: string | readonly string[], routes: readonly { cidr: string; via: string }[]): string {
  const subnets = typeof podSubnets === 'string' ? [podSubnets] : podSubnets;
  const v6 = (cidr: string) => parseCidr6(cidr) !== undefined;
  const masquerade = (subnet: string) => {
    const rule = `-s ${subnet} ! -d ${subnet} -j MASQUERADE`;
    const tool = v6(subnet) ? 'ip6tables' : 'iptables';
    return `${tool} -t nat -C POSTROUTING ${rule} 2>/dev/null || ${tool} -t nat -A POSTROUTING ${rule}`;
  };
  return [
    '#!/bin/sh',
    '# Written by the local-cluster bridge CNI.',
    'set -e',
    ...(subnets.some(v6) ? ['sysctl -qw net.ipv6.conf.all.forwarding=1'] : []),
    ...routes.map((r) => `ip ${v6(r.cidr) ? '-6 ' : ''}route replace ${r.cidr} via ${r.via}`),
    ...subnets.map(masquerade),
    '',
  ].join('\n');
}

/** The CNI config for one node: a bridge with host-local IPAM over the node's pod CIDR (one range and default route per family when given several). */
export function bridgeConflist(podCidrs: string | readonly string[], bridgeName = 'cni0'): string {
  const cidrs = typeof podCidrs === 'string' ? [podCidrs] : podCidrs;
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'local-cluster-bridge',
      plugins: [
        {
          type: 'bridge',
          bridge: bridgeName,
          isGateway: true,
          // the plugin's own masquerade exempts only this node's /24, so it would SNAT
          // pod-to-pod traffic between nodes; the node hook masquerades egress instead
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: cidrs.map((subnet) => [{ subnet }]),
            routes: cidrs.map((cidr) => ({ dst: parseCidr6(cidr) ? '::/0' : '0.0.0.0/0' })),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

/**
 * Every node's pod CIDRs, one per family of the cluster (hostname to CIDRs), which the controller
 * manager assigns shortly after each node registers: one list of the nodes a poll, for all of them.
 */
async function podCidrsOf(ctx: ClusterContext): Promise<Map<string, string[]>> {
  const wanted = ctx.nodes.map((n) => n.hostname);
  const families = familiesOf(ctx.config).length;
  return waitFor(
    `a pod CIDR for nodes ${wanted.join(', ')} (is networking.podSubnet set?)`,
    async () => {
      const lines = await ctx.kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDRs[*]}{"\\n"}{end}']);
      const cidrs = new Map(lines.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length > 1).map(([name, ...own]) => [name!, own] as const));
      return wanted.every((h) => (cidrs.get(h)?.length ?? 0) >= families) ? cidrs : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, signal: ctx.signal },
  );
}

/** The address of a node in the family of a pod CIDR: IPv6 routes go via its IPv6 address. */
async function addressFor(ctx: ClusterContext, node: NodeHandle, cidr: string): Promise<string> {
  if (!parseCidr6(cidr)) return node.ip({ signal: ctx.signal });
  const ip6 = await node.ip6?.({ signal: ctx.signal });
  if (!ip6) throw new Error(`node ${node.hostname} has no IPv6 address on the cluster network, so no route to its pod CIDR ${cidr} can be made`);
  return ip6;
}

/**
 * The proposal's bridge CNI: every node gets a bridge with host-local IPAM on
 * its own pod CIDR, and a route to every other node's pod CIDR via that node's
 * address on the cluster network. No daemons, no images.
 */
export function bridge(options: BridgeOptions = {}): CniPlugin {
  const podCidrs = new WeakMap<ClusterContext, Promise<Map<string, string[]>>>();
  const podSubnet = options.podSubnet ?? '10.244.0.0/16';
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'bridge',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4', 'ipv6'] },
    configure: () => ({ podSubnet }),
    async prepareNode(ctx, node) {
      // prepareNode runs for every node at once with the same context: one wait for all of them
      let cidrs = podCidrs.get(ctx);
      if (!cidrs) podCidrs.set(ctx, (cidrs = podCidrsOf(ctx)));
      const all = await cidrs;
      const own = all.get(node.hostname)!;
      await writeNodeFile(node, CONFLIST_PATH, bridgeConflist(own.length === 1 ? own[0]! : own, options.bridgeName), { signal: ctx.signal });
      const routes = (
        await Promise.all(
          ctx.nodes
            .filter((other) => other.id !== node.id)
            .map(async (other) => Promise.all(all.get(other.hostname)!.map(async (cidr) => ({ cidr, via: await addressFor(ctx, other, cidr) })))),
        )
      ).flat();
      const subnets = podRanges(ctx.config, ctx.podSubnet);
      await writeNodeFile(node, HOOK_PATH, podNetworkHook(subnets.length === 1 ? subnets[0]! : subnets, routes), { signal: ctx.signal, mode: '0755' });
      await node.exec(['sh', HOOK_PATH], { signal: ctx.signal });
    },
  };
}

export default bridge;
