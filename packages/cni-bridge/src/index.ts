import {
  CNI_API_VERSION,
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

const CONFLIST_PATH = '/etc/cni/net.d/10-local-cluster-bridge.conflist';

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
          ipMasq: true,
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

async function podCidrOf(ctx: ClusterContext, node: NodeHandle): Promise<string> {
  const cidr = (await ctx.kubectl(['get', 'node', node.hostname, '-o', 'jsonpath={.spec.podCIDR}'])).trim();
  if (!cidr) throw new Error(`node ${node.hostname} has no pod CIDR yet (is networking.podSubnet set?)`);
  return cidr;
}

/**
 * The proposal's bridge CNI: every node gets a bridge with host-local IPAM on
 * its own pod CIDR, and a route to every other node's pod CIDR via that node's
 * address on the cluster network. No daemons, no images.
 */
export function bridge(options: BridgeOptions = {}): CniPlugin {
  const podSubnet = options.podSubnet ?? '10.244.0.0/16';
  return {
    apiVersion: CNI_API_VERSION,
    kind: 'cni',
    name: 'bridge',
    defaultPodSubnet: podSubnet,
    supports: { multiNode: true, ipFamilies: ['ipv4'] },
    configure: () => ({ podSubnet }),
    async prepareNode(ctx, node) {
      const own = await podCidrOf(ctx, node);
      await writeNodeFile(node, CONFLIST_PATH, bridgeConflist(own, options.bridgeName), { signal: ctx.signal });
      for (const other of ctx.nodes) {
        if (other.id === node.id) continue;
        const [cidr, via] = await Promise.all([podCidrOf(ctx, other), other.ip({ signal: ctx.signal })]);
        await node.exec(['ip', 'route', 'replace', cidr, 'via', via], { signal: ctx.signal });
      }
    },
  };
}

export default bridge;
