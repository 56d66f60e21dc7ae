import { cidrsOverlap } from '../config/schema.js';
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

/** `loaded` with a free node subnet when the user did not choose one (see chooseSubnet). */
export async function withFreeSubnet(loaded: LoadedConfig, driver: Driver, logger?: Logger): Promise<LoadedConfig> {
  if (loaded.config.dind.network) return withSharedBlock(loaded, driver, logger);
  if ((loaded.sources['dind.subnet']?.kind ?? 'default') !== 'default') return loaded;
  const preferred = loaded.config.dind.subnet;
  const networks = await driver.listAllNetworks();
  const subnet = chooseSubnet(loaded.config.cluster.name, preferred, networks);
  if (subnet === preferred) return loaded;
  const own = networks.some((n) => n.name === networkName(loaded.config.cluster.name));
  if (!own) logger?.info(`dind.subnet ${preferred} is taken by another Docker network; using ${subnet} (set --dind-subnet to choose)`);
  return { ...loaded, config: { ...loaded.config, dind: { ...loaded.config.dind, subnet } } };
}
