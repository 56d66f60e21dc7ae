import { cidrsOverlap, cidrsOverlapAny, parseCidr6 } from '../config/schema.js';
import { defaultSubnet6, hasIpv6 } from '../config/ip-family.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../contracts/context.js';
import { LABELS, type Driver, type NetworkInfo } from '../contracts/driver.js';
import { networkName } from './naming.js';
import { withSharedBlock } from './shared-network.js';

/** Ranges a node network must stay clear of: kubeadm's default service range and the CNIs' default pod range. */
const RESERVED = ['10.96.0.0/12', '10.244.0.0/16'];

/**
 * The node network's subnet when `dind.subnet` was left at its default, as kind and
 * minikube pick free ranges: the cluster's own network's (it outlives `down`, so a
 * snapshot keeps matching), else the default when free, else the first free /16 of
 * 10.192.0.0-10.255.255.255 (reserved ranges skipped). A subnet the user set is kept,
 * and preflight judges it.
 */
export function chooseSubnet(cluster: string, preferred: string, networks: readonly NetworkInfo[]): string {
  const own = networks.find((n) => n.name === networkName(cluster) && n.labels[LABELS.cluster] === cluster);
  if (own?.subnets[0]) return own.subnets[0];
  const others = networks.filter((n) => n !== own).flatMap((n) => n.subnets);
  const free = (cidr: string) => !others.some((s) => cidrsOverlap(s, cidr)) && !RESERVED.some((r) => cidrsOverlap(r, cidr));
  if (free(preferred)) return preferred;
  for (let octet = 192; octet <= 255; octet += 1) {
    const candidate = `10.${octet}.0.0/16`;
    if (free(candidate)) return candidate;
  }
  return preferred;
}

/**
 * The node network's IPv6 range when `dind.subnet6` was left unset: the cluster's own network's,
 * else the one derived from its IPv4 range (defaultSubnet6) when free, else the next free one
 * after it. A range the user set is kept, and preflight judges it.
 */
export function chooseSubnet6(cluster: string, subnet: string, networks: readonly NetworkInfo[]): string {
  const own = networks.find((n) => n.name === networkName(cluster) && n.labels[LABELS.cluster] === cluster);
  const own6 = own?.subnets.find((s) => parseCidr6(s));
  if (own6) return own6;
  const others = networks.filter((n) => n !== own).flatMap((n) => n.subnets).filter((s) => parseCidr6(s));
  for (let salt = 0; salt < 256; salt++) {
    const candidate = defaultSubnet6(subnet, salt);
    if (!others.some((s) => cidrsOverlapAny(s, candidate))) return candidate;
  }
  return defaultSubnet6(subnet);
}

/** `loaded` with a free node subnet when the user did not choose one (see chooseSubnet), and with IPv6 a free dind.subnet6 (chooseSubnet6). */
export async function withFreeSubnet(loaded: LoadedConfig, driver: Driver, logger?: Logger): Promise<LoadedConfig> {
  if (loaded.config.dind.network) return withSharedBlock(loaded, driver, logger);
  const userSubnet = (loaded.sources['dind.subnet']?.kind ?? 'default') !== 'default';
  const wants6 = hasIpv6(loaded.config) && loaded.config.dind.subnet6 === undefined;
  if (userSubnet && !wants6) return loaded;
  const preferred = loaded.config.dind.subnet;
  const networks = await driver.listAllNetworks();
  const subnet = userSubnet ? preferred : chooseSubnet(loaded.config.cluster.name, preferred, networks);
  const own = networks.some((n) => n.name === networkName(loaded.config.cluster.name));
  if (subnet !== preferred && !own) logger?.info(`dind.subnet ${preferred} is taken by another Docker network; using ${subnet} (set --dind-subnet to choose)`);
  const subnet6 = wants6 ? chooseSubnet6(loaded.config.cluster.name, subnet, networks) : undefined;
  if (subnet === preferred && !subnet6) return loaded;
  return { ...loaded, config: { ...loaded.config, dind: { ...loaded.config.dind, subnet, ...(subnet6 ? { subnet6 } : {}) } } };
}

/** dind.subnet6 overlaps no other Docker network's IPv6 range (its own network's is fine). */
export function subnet6Clash(cluster: string, subnet6: string, networks: readonly NetworkInfo[]): { network: string; range: string } | undefined {
  for (const network of networks) {
    if (network.name === networkName(cluster) && network.labels[LABELS.cluster] === cluster) continue;
    const range = network.subnets.find((s) => parseCidr6(s) && cidrsOverlapAny(s, subnet6));
    if (range) return { network: network.name, range };
  }
  return undefined;
}
