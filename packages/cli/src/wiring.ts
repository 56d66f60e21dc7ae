import { dockerDriver } from '@local-cluster/docker-driver';
import { loadPlugin, makeLogger, NO_CNI, noCni, withFreeSubnet, type Addon, type CniPlugin, type Driver, type ImageRequirement, type LoadedConfig, type ProgressListener } from '@local-cluster/core';
import { isManifestSpec, loadManifestAddon, registry } from '@local-cluster/addons';
import { nodeImage } from '@local-cluster/images';

export { nodeImage };

/** Built-in plugin names and the packages that implement them. The only place names meet packages. */
export const BUILTIN_CNI: Readonly<Record<string, string>> = {
  bridge: '@local-cluster/cni-bridge',
  flannel: '@local-cluster/cni-flannel',
  calico: '@local-cluster/cni-calico',
  weave: '@local-cluster/cni-weave',
};

export const BUILTIN_ADDONS: Readonly<Record<string, string>> = {
  dashboard: '@local-cluster/addons/dashboard',
  storage: '@local-cluster/addons/storage',
  'metrics-server': '@local-cluster/addons/metrics-server',
  metallb: '@local-cluster/addons/metallb',
  ingress: '@local-cluster/addons/ingress',
};

export function createDriver(loaded: LoadedConfig): Driver {
  return dockerDriver({ securityMode: loaded.config.dind.privileged });
}

export async function loadCni(loaded: LoadedConfig): Promise<CniPlugin> {
  // "none" is no plugin at all: core's null object (kind's disableDefaultCNI)
  if (loaded.config.cluster.cniPlugin === NO_CNI) return noCni();
  return loadPlugin(loaded.config.cluster.cniPlugin, 'cni', {
    baseDir: loaded.baseDir,
    builtins: BUILTIN_CNI,
    builtinsFrom: [import.meta.url],
    setting: 'cluster.cniPlugin',
  });
}

/** cluster.addons, and the local registry when cluster.registry asks for it. */
export async function loadAddons(loaded: LoadedConfig): Promise<Addon[]> {
  const addons = await Promise.all(loaded.config.cluster.addons.map((spec) => (isManifestSpec(spec) ? loadManifestAddon(spec, loaded.baseDir) : loadAddonPlugin(spec, loaded))));
  return loaded.config.cluster.registry ? [...addons, registry()] : addons;
}

/** An addon package: a built-in name (netcheck adds `metallb` this way), a ./path or an npm package. */
export async function loadAddonPlugin(spec: string, loaded: LoadedConfig): Promise<Addon> {
  return loadPlugin(spec, 'addon', { baseDir: loaded.baseDir, builtins: BUILTIN_ADDONS, builtinsFrom: [import.meta.url], setting: 'cluster.addons' });
}

/** What `up` is given: the config (with its subnet settled), the driver, the plugins and the node image. */
export interface UpWiring {
  loaded: LoadedConfig;
  driver: Driver;
  cni: CniPlugin;
  addons: Addon[];
  nodeImage: ImageRequirement;
}

/**
 * The one path from a loaded config to what `up` needs, taken by `up`/`reup` and `createCluster`
 * alike: the driver, a free node subnet when the config left it to us (a second cluster with
 * default settings), the CNI and addon plugins, and the node image.
 */
export async function wireUp(given: LoadedConfig, onEvent?: ProgressListener): Promise<UpWiring> {
  const driver = createDriver(given);
  const loaded = await withFreeSubnet(given, driver, makeLogger(onEvent, () => 'preflight'));
  const [cni, addons] = await Promise.all([loadCni(loaded), loadAddons(loaded)]);
  return { loaded, driver, cni, addons, nodeImage: nodeImage(loaded.config, { baseDir: loaded.baseDir }) };
}
