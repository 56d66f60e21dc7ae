import { localClusterHome } from '../config/load.js';
import { isNetworkAddress, networkOf6, parseCidr, type ResolvedConfig } from '../config/schema.js';
import type { Addon } from '../contracts/addon.js';
import { LocalClusterError } from '../errors.js';
import type { Logger } from '../contracts/context.js';
import type { Driver } from '../contracts/driver.js';
import { ensureImage, syncImagesIntoNodes } from '../images/index.js';
import { clusterContext, controlPlaneOf, kubectlOn } from './context.js';
import { imageCacheDir } from './images.js';
import { clusterFamilies, clusterPodSubnet } from './cluster-facts.js';
import { runningNodes } from './load.js';
import { pluginHook } from './steps/network-plugin.js';
import { imagesByNodes } from './steps/images.js';

/** The network address of a CIDR-with-host (`10.203.0.2/16` -> `10.203.0.0/16`). */
export function networkOf(addressWithPrefix: string): string | undefined {
  const parsed = parseCidr(addressWithPrefix);
  if (!parsed) return undefined;
  const size = 2 ** (32 - parsed.prefix);
  const value = parsed.address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const base = value - (value % size);
  const network = { address: [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.'), prefix: parsed.prefix };
  return isNetworkAddress(network) ? `${network.address}/${network.prefix}` : undefined;
}

/**
 * Installs one addon into a running cluster (as `minikube addons enable` does):
 * its images built and loaded into the nodes it asks for, then install and readiness.
 * The settings the addon reads that belong to the cluster as made (the node
 * network's subnet, the pod subnet) are read from the cluster, not the config.
 */
export async function addAddon(options: { driver: Driver; config: ResolvedConfig; addon: Addon; logger: Logger; signal: AbortSignal; home?: string }): Promise<void> {
  const { driver, addon, logger, signal } = options;
  const cluster = options.config.cluster.name;
  const ports = addon.portMappings?.(options.config) ?? [];
  if (ports.length) {
    // Docker publishes a container's ports when it is made: a running node cannot gain one
    throw new LocalClusterError(`Addon "${addon.name}" publishes host ports (${ports.map((p) => p.hostPort).join(', ')}) on the control plane's container, which a running cluster cannot gain.`, {
      hint: `Bring the cluster up with it: local-cluster down --name ${cluster}, then up with ${addon.name} in --addons (cluster.addons).`,
    });
  }
  const nodes = await runningNodes(driver, cluster, signal);
  const controlPlane = controlPlaneOf(nodes);
  const eth0 = (await controlPlane.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { signal })).stdout;
  const subnet = networkOf(/inet (\S+)/.exec(eth0)?.[1] ?? '') ?? options.config.dind.subnet;
  const kubectl = (args: readonly string[]) => kubectlOn(controlPlane, args, { signal });
  const podSubnet = (await clusterPodSubnet(kubectl)) ?? '';
  // the cluster's address families as made (cluster.ipFamily), and its node network's IPv6 range
  const families = await clusterFamilies(kubectl);
  const ipFamily = families.length > 1 ? 'dual' : families[0]!;
  const eth0v6 = ipFamily === 'ipv4' ? '' : (await controlPlane.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { signal })).stdout;
  const subnet6 = networkOf6(/inet6 (\S+)/.exec(eth0v6)?.[1] ?? '');
  const config: ResolvedConfig = {
    ...options.config,
    dind: { ...options.config.dind, subnet, ...(subnet6 ? { subnet6 } : {}) },
    cluster: { ...options.config.cluster, ipFamily },
  };
  const home = options.home ?? localClusterHome();
  const images = addon.images?.(config) ?? [];
  const cacheDir = imageCacheDir(home);
  for (const image of images) await ensureImage({ image, neededBy: `addon "${addon.name}"` }, { driver, cacheDir, logger, signal });
  const { everyNode, controlPlanes } = imagesByNodes(images);
  if (everyNode.length) await syncImagesIntoNodes(driver, nodes, everyNode, { cacheDir, logger, signal });
  if (controlPlanes.length) await syncImagesIntoNodes(driver, nodes.filter((n) => n.role === 'control-plane'), controlPlanes, { cacheDir, logger, signal });
  const ctx = clusterContext({ config, driver, nodes, podSubnet }, logger, signal);
  const owner = `addon "${addon.name}"`;
  await pluginHook(owner, 'install', () => addon.install(ctx));
  if (addon.waitReady) await pluginHook(owner, 'waitReady', () => addon.waitReady!(ctx));
}
