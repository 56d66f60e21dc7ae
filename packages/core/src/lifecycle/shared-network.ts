import { cidrsOverlap, parseCidr } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from '../contracts/context.js';
import { LABELS, type CallOptions, type Driver, type NetworkInfo, type Selector } from '../contracts/driver.js';
import { isDriverError, PreflightError } from '../errors.js';
import { chooseSubnet } from './subnet.js';

/**
 * dind.network: several clusters on one Docker network, each on its own address block
 * (dind.subnet). The network spans the /16 around the first block put on it; every node
 * container and snapshot image of a cluster on it carries the network's name and the cluster's
 * block as labels, which is how the next cluster finds the blocks taken: a cluster that is down
 * (its snapshot kept) still holds its block, and comes back on it.
 */

/** The selector that owns a shared network (it carries no cluster label: it is no one cluster's). */
export function sharedNetworkSelector(name: string): Selector {
  return { role: 'network', labels: { [LABELS.sharedNetwork]: name } };
}

/** Labels a cluster's containers carry on a shared network. */
export function sharedNetworkLabels(config: ResolvedConfig): Record<string, string> {
  return config.dind.network ? { [LABELS.sharedNetwork]: config.dind.network, [LABELS.block]: config.dind.subnet } : {};
}

/** The range a shared network gets when a cluster's block is the first on it: the /16 around it (the block itself when larger). */
export function sharedRangeFor(block: string): string {
  const parsed = parseCidr(block)!;
  if (parsed.prefix <= 16) return block;
  const [a, b] = parsed.address.split('.');
  return `${a}.${b}.0.0/16`;
}

/** The blocks clusters hold on a shared network (their containers, or the snapshot of one that is down), by cluster. */
export async function blocksOn(driver: Driver, network: string, exceptCluster: string | undefined, options: CallOptions = {}): Promise<Map<string, string>> {
  const labels = { [LABELS.sharedNetwork]: network };
  const [nodes, balancers, snapshots] = await Promise.all([
    driver.listNodes({ role: 'node', labels }, options),
    driver.listNodes({ role: 'load-balancer', labels }, options),
    driver.images.list({ role: 'snapshot', labels }, options),
  ]);
  const blocks = new Map<string, string>();
  for (const held of [...nodes.map((n) => n.labels), ...balancers.map((n) => n.labels), ...snapshots.map((i) => i.labels)]) {
    const cluster = held[LABELS.cluster];
    const block = held[LABELS.block];
    if (cluster && block && cluster !== exceptCluster) blocks.set(cluster, block);
  }
  return blocks;
}

/** The first /24 of `range` that overlaps none of `taken`. */
export function freeBlock(range: string, taken: readonly string[]): string | undefined {
  const parsed = parseCidr(range);
  if (!parsed) return undefined;
  const [a, b, c] = parsed.address.split('.').map(Number) as [number, number, number];
  const count = parsed.prefix >= 24 ? 1 : 2 ** (24 - parsed.prefix);
  for (let i = 0; i < count; i++) {
    const third = c + i;
    const candidate = parsed.prefix >= 24 ? range : `${a + Math.floor((b + Math.floor(third / 256)) / 256)}.${(b + Math.floor(third / 256)) % 256}.${third % 256}.0/24`;
    if (!taken.some((t) => cidrsOverlap(t, candidate))) return candidate;
  }
  return undefined;
}

/**
 * `loaded` with its block on the shared network chosen, when dind.network is set and dind.subnet
 * was left to us: the block its own nodes already hold (a cluster coming back), else the first
 * free /24 of the network's range, or of a free /16 when the network does not exist yet.
 */
export async function withSharedBlock(loaded: LoadedConfig, driver: Driver, logger?: Logger): Promise<LoadedConfig> {
  const network = loaded.config.dind.network;
  if (!network || (loaded.sources['dind.subnet']?.kind ?? 'default') !== 'default') return loaded;
  const cluster = loaded.config.cluster.name;
  let block = (await blocksOn(driver, network, undefined)).get(cluster);
  if (!block) {
    const networks = await driver.listAllNetworks();
    const existing = networks.find((n) => n.name === network);
    const range = existing?.subnets[0] ?? chooseSubnet(cluster, loaded.config.dind.subnet, networks.filter((n) => n.name !== `local-cluster-${cluster}`));
    block = freeBlock(range, [...(await blocksOn(driver, network, cluster)).values()]);
    if (!block) return loaded; // preflight says the network is full
    logger?.info(`dind.network ${network}: address block ${block}${existing ? '' : ` (the network will span ${sharedRangeFor(block)})`}`);
  }
  return { ...loaded, config: { ...loaded.config, dind: { ...loaded.config.dind, subnet: block } } };
}

/**
 * Preflight for dind.network: the block lies in the network's range (when it exists), overlaps no
 * other Docker network, and no other cluster's block on it (naming both clusters).
 */
export async function checkSharedBlock(config: ResolvedConfig, driver: Driver, options: CallOptions = {}): Promise<void> {
  const network = config.dind.network!;
  const block = config.dind.subnet;
  const cluster = config.cluster.name;
  const networks = await driver.listAllNetworks(options);
  const shared = networks.find((n) => n.name === network);
  const range = shared?.subnets[0] ?? sharedRangeFor(block);
  if (shared && shared.labels[LABELS.sharedNetwork] !== network) {
    throw new PreflightError('dind-network', `dind.network "${network}" is a Docker network local-cluster did not make for sharing.`, { hint: 'Name a network of its own for the clusters to share (local-cluster makes it).' });
  }
  if (shared && !(parseCidr(range) && cidrsOverlap(range, block) && parseCidr(block)!.prefix >= parseCidr(range)!.prefix)) {
    throw new PreflightError('dind-subnet', `dind.subnet ${block} of cluster "${cluster}" lies outside dind.network "${network}" (${range}).`, { hint: `Choose a block inside ${range}, or leave dind.subnet unset for a free one.` });
  }
  for (const other of networks.filter((n: NetworkInfo) => n.name !== network)) {
    const clash = other.subnets.find((s) => cidrsOverlap(s, range));
    if (clash) {
      throw new PreflightError('subnet', `dind.network "${network}" would span ${range}, which overlaps Docker network "${other.name}" (${clash}).`, { hint: 'Choose a dind.subnet in another range for the first cluster on the network.' });
    }
  }
  for (const [name, taken] of await blocksOn(driver, network, cluster, options)) {
    if (cidrsOverlap(taken, block)) {
      throw new PreflightError('dind-subnet', `Clusters "${cluster}" and "${name}" ask for overlapping address blocks on dind.network "${network}": ${block} and ${taken}.`, {
        hint: `Give cluster "${cluster}" another dind.subnet inside ${range} (--dind-subnet), or leave it unset for a free block.`,
      });
    }
  }
}

/** Removes the shared networks no container uses any more (the engine refuses one still in use: kept). */
export async function removeUnusedSharedNetworks(driver: Driver, options: CallOptions = {}): Promise<number> {
  let removed = 0;
  for (const network of await driver.listAllNetworks(options)) {
    const name = network.labels[LABELS.sharedNetwork];
    if (!name || network.labels[LABELS.managed] !== 'true' || network.name !== name) continue;
    // kept while a cluster is on it or down with its snapshot (it comes back on it)
    if ((await blocksOn(driver, name, undefined, options)).size > 0) continue;
    try {
      await driver.removeNetwork(name, sharedNetworkSelector(name), options);
      removed++;
    } catch (error) {
      // another cluster's `up` attached to it meanwhile
      if (!(isDriverError(error) && /active endpoints|in use/i.test(error.message))) throw error;
    }
  }
  return removed;
}
