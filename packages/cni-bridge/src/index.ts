import {
  CNI_API_VERSION,
  NODE_CONTRACT,
  waitFor,
  writeNodeFile,
  type ClusterContext,
  type CniPlugin,
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

/** Routes to the other nodes' pod CIDRs and masquerading of traffic leaving the pod network. */
export function podNetworkHook(podSubnet: string, routes: readonly { cidr: string; via: string }[]): string {
  const rule = `-s ${podSubnet} ! -d ${podSubnet} -j MASQUERADE`;
  return [
    '#!/bin/sh',
    '# Written by the local-cluster bridge CNI.',
    'set -e',
    ...routes.map((r) => `ip route replace ${r.cidr} via ${r.via}`),
    `iptables -t nat -C POSTROUTING ${rule} 2>/dev/null || iptables -t nat -A POSTROUTING ${rule}`,
    '',
  ].join('\n');
}

/** The CNI config for one node: a bridge with host-local IPAM over the node's pod CIDR. */
export function bridgeConflist(podCidr: string, bridgeName = 'cni0'): string {
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
          ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
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
 * Every node's pod CIDR (hostname to CIDR), which the controller manager assigns shortly after
 * each node registers: one list of the nodes a poll, for all of them.
 */
async function podCidrsOf(ctx: ClusterContext): Promise<Map<string, string>> {
  const wanted = ctx.nodes.map((n) => n.hostname);
  return waitFor(
    `a pod CIDR for nodes ${wanted.join(', ')} (is networking.podSubnet set?)`,
    async () => {
      const lines = await ctx.kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{"\\n"}{end}']);
      const cidrs = new Map(lines.split('\n').map((l) => l.trim().split(' ')).filter((f) => f.length === 2 && f[1]).map(([name, cidr]) => [name!, cidr!] as const));
      return wanted.every((h) => cidrs.has(h)) ? cidrs : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, signal: ctx.signal },
  );
}

/**
 * The proposal's bridge CNI: every node gets a bridge with host-local IPAM on
 * its own pod CIDR, and a route to every other node's pod CIDR via that node's
 * address on the cluster network. No daemons, no images.
 */
export function bridge(options: BridgeOptions = {}): CniPlugin {
  const podCidrs = new WeakMap<ClusterContext, Promise<Map<string, string>>>();
  const podSubnet = options.podSubnet ?? '10.244.0.0/16';
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'bridge',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4'] },
    configure: () => ({ podSubnet }),
    async prepareNode(ctx, node) {
      // prepareNode runs for every node at once with the same context: one wait for all of them
      let cidrs = podCidrs.get(ctx);
      if (!cidrs) podCidrs.set(ctx, (cidrs = podCidrsOf(ctx)));
      const all = await cidrs;
      await writeNodeFile(node, CONFLIST_PATH, bridgeConflist(all.get(node.hostname)!, options.bridgeName), { signal: ctx.signal });
      const routes = await Promise.all(
        ctx.nodes
          .filter((other) => other.id !== node.id)
          .map(async (other) => ({ cidr: all.get(other.hostname)!, via: await other.ip({ signal: ctx.signal }) })),
      );
      await writeNodeFile(node, HOOK_PATH, podNetworkHook(ctx.podSubnet, routes), { signal: ctx.signal, mode: '0755' });
      await node.exec(['sh', HOOK_PATH], { signal: ctx.signal });
    },
  };
}

export default bridge;
