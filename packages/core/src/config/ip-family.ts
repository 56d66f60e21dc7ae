import { BlockList } from 'node:net';
import { parseCidr, parseCidr6, POD_SUBNET6, SERVICE_SUBNET6, type ResolvedConfig } from './schema.js';

export type AddressFamily = 'ipv4' | 'ipv6';

/** The address families of a cluster, its primary first: dual stack is IPv4 first (kind's order). */
export function familiesOf(config: ResolvedConfig): AddressFamily[] {
  const family = config.cluster.ipFamily;
  return family === 'dual' ? ['ipv4', 'ipv6'] : [family];
}

/** Whether the cluster has IPv6 addresses (ipFamily ipv6 or dual). */
export function hasIpv6(config: ResolvedConfig): boolean {
  return config.cluster.ipFamily !== 'ipv4';
}

/** Whether the cluster has IPv4 pod and Service addresses (ipFamily ipv4 or dual); its nodes always have an IPv4 address on the Docker network. */
export function hasIpv4(config: ResolvedConfig): boolean {
  return config.cluster.ipFamily !== 'ipv6';
}

/**
 * The IPv6 range of a node network whose IPv4 range is `subnet`: its first two octets as the
 * second and third groups of fd00::/8 (10.192.0.0/16 -> fd00:10:192::/64), so the two ranges
 * of one network read alike and two networks with different IPv4 ranges differ in IPv6 too.
 */
export function defaultSubnet6(subnet: string, salt = 0): string {
  const parsed = parseCidr(subnet);
  const [a, b] = (parsed?.address ?? '10.192.0.0').split('.');
  return `fd00:${a}:${Number(b) + salt}::/64`;
}

/** The cluster's IPv6 ranges: the node network's (dind.subnet6; derived from dind.subnet when unset), the pods' and the Services'. */
export function ipv6Ranges(config: ResolvedConfig): { node: string; pod: string; service: string } {
  return {
    node: config.dind.subnet6 ?? defaultSubnet6(config.dind.subnet),
    pod: config.cluster.podSubnet6 ?? POD_SUBNET6,
    service: config.cluster.serviceSubnet6 ?? SERVICE_SUBNET6,
  };
}

const UNIQUE_LOCAL = new BlockList();
UNIQUE_LOCAL.addSubnet('fc00::', 7, 'ipv6');

/** Whether an IPv6 CIDR lies in the unique local range fc00::/7. */
export function isUniqueLocal(cidr: string): boolean {
  const parsed = parseCidr6(cidr);
  return parsed !== undefined && UNIQUE_LOCAL.check(parsed.address, 'ipv6');
}

/** The pod ranges of the cluster, one per family, primary first (podSubnet is the IPv4 one). */
export function podRanges(config: ResolvedConfig, podSubnet: string): string[] {
  return familiesOf(config).map((f) => (f === 'ipv4' ? podSubnet : ipv6Ranges(config).pod));
}

/** The Service ranges of the cluster, one per family, primary first. */
export function serviceRanges(config: ResolvedConfig): string[] {
  return familiesOf(config).map((f) => (f === 'ipv4' ? config.cluster.serviceSubnet : ipv6Ranges(config).service));
}
