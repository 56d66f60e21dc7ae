import { parseCidr, parseCidr6 } from '../config/schema.js';
import { NODE_CONTRACT } from '../contracts/node.js';

/** Entrypoint hook keeping the cluster's own address ranges on its nodes. */
export const CLUSTER_RANGES_HOOK = `${NODE_CONTRACT.entrypointHookDir}/10-cluster-ranges.sh`;

/** The nftables table the hook owns (its own table: other tables' accepts cannot bypass it). */
export const CLUSTER_RANGES_TABLE = 'local-cluster-ranges';

/**
 * A node's default route leads to the Docker network and the host's, so a
 * packet for an address of the cluster that nothing on the node claims would
 * leave the machine (and a network that answers any address would make a
 * removed Service port look alive). This hook refuses it at the node:
 * - a packet still addressed to the service range after kube-proxy's DNAT
 *   (iptables or nftables mode) has no Service port behind it: TCP gets a
 *   reset, anything else ICMP port unreachable, on the output (host-network
 *   pods, the node) and forward (pods) hooks. In a table of its own, so the
 *   accepts of kube-proxy, the CNI or Calico's chains cannot skip it;
 * - pod addresses no route more specific than the whole pod range covers
 *   (a CNI's per-node or per-block routes) are unreachable: a high-metric
 *   route, so a CNI that routes the whole range itself still wins.
 */
export function clusterRangesHook(serviceSubnet: string, podSubnet: string, ipv6?: { serviceSubnet: string; podSubnet: string }): string {
  const rules = [`ip daddr ${serviceSubnet} meta l4proto tcp reject with tcp reset`, `ip daddr ${serviceSubnet} reject`];
  // the same in IPv6 (cluster.ipFamily ipv6 or dual): rejects answer with ICMPv6
  if (ipv6) rules.push(`ip6 daddr ${ipv6.serviceSubnet} meta l4proto tcp reject with tcp reset`, `ip6 daddr ${ipv6.serviceSubnet} reject`);
  const chain = (name: string) => `  chain ${name} {\n    type filter hook ${name} priority filter + 10; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`;
  return [
    '#!/bin/sh',
    '# Written by local-cluster at every `up`; run by the entrypoint at every node start.',
    'set -e',
    // the engine starts a container's network namespace with IPv6 off for every interface but
    // its own (default.disable_ipv6 1): the CNI's bridges and veths need it on, and forwarding
    ...(ipv6 ? ['sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.forwarding=1'] : []),
    `nft -f - <<'EOF'`,
    `table inet ${CLUSTER_RANGES_TABLE}`,
    `delete table inet ${CLUSTER_RANGES_TABLE}`,
    `table inet ${CLUSTER_RANGES_TABLE} {\n${chain('output')}${chain('forward')}}`,
    'EOF',
    // a pod subnet that is not a CIDR is kubeadm's to refuse, with its own message
    ...(parseCidr(podSubnet) ? [`ip route replace unreachable ${podSubnet} metric 4242`] : []),
    ...(ipv6 && parseCidr6(ipv6.podSubnet) ? [`ip -6 route replace unreachable ${ipv6.podSubnet} metric 4242`] : []),
    '',
  ].join('\n');
}
