import { rm } from 'node:fs/promises';
import type { CallOptions, Driver, NodeHandle, Selector } from '../contracts/driver.js';
import { localClusterHome } from '../config/load.js';
import { clusterDir } from './context.js';
import { withClusterLock } from './lock.js';
import { removeFromUserKubeconfig, userKubeconfigPath } from './kubeconfig.js';
import { kubeContextName } from './naming.js';
import { removeUnusedSharedNetworks } from './shared-network.js';
import { externalCluster, readPlacement, removeHollowNamespace, removeLoadedImage } from './hollow-nodes-on.js';
import type { ProgressListener } from '../engine/steps.js';
import { runSteps, type Step } from '../engine/steps.js';

export interface TeardownOptions extends CallOptions {
  driver: Driver;
  /** The cluster name; only objects labelled with it are touched. */
  cluster: string;
  onEvent?: ProgressListener;
  /** The tool's home, whose clusters/<name> directory `clean` removes. Default: ~/.local-cluster. */
  home?: string;
  /** The user's kubeconfig `clean` removes the cluster's context from (false: leave it). */
  userKubeconfig?: string | false;
}

export interface TeardownResult {
  containers: number;
  networks: number;
  volumes: number;
  images: number;
}

type Ctx = TeardownOptions & { result: TeardownResult; removeLoadedImage?: boolean };

/** The roles of a cluster's containers besides its nodes: none has state of its own (`up` makes them again). */
export const SATELLITE_ROLES = ['load-balancer', 'hollow-nodes', 'fake-nodes', 'node-e2e'] as const;

/**
 * Every container of a cluster: its node containers and its satellites: with several control
 * planes the API servers' load balancer, the hollow-node containers, the kwok controller and a
 * running `e2e-node`'s container.
 */
export async function clusterContainers(driver: Driver, cluster: string, options: CallOptions = {}): Promise<NodeHandle[]> {
  const lists = await Promise.all((['node', ...SATELLITE_ROLES] as const).map((role) => driver.listNodes({ cluster, role }, options)));
  return lists.flat();
}

/**
 * Hollow nodes on another cluster (cluster.hollowNodesOn): their namespace there, when it carries
 * our labels. An external cluster that is gone or refuses is reported, and the rest goes on.
 */
const removeHollowPods: Step<Ctx> = {
  name: 'remove-hollow-pods',
  title: 'Remove the hollow-node pods on the other cluster',
  async run(ctx, rt) {
    const placement = await readPlacement(clusterDir(ctx.home ?? localClusterHome(), ctx.cluster));
    if (!placement) return;
    try {
      const ext = await externalCluster(ctx.driver, placement, ctx.cluster, rt.signal);
      const removed = await removeHollowNamespace(ext, ctx.cluster, rt.signal);
      rt.logger.info(removed ? `removed namespace ${placement.namespace} (the hollow-node pods) on ${ext.describe}` : `no namespace ${placement.namespace} of ours on ${ext.describe}`);
      // `clean`: the kubemark image this cluster's `up` loaded into the other cluster's nodes goes too
      if (ctx.removeLoadedImage && placement.loadedImage && (await removeLoadedImage(ext, placement.loadedImage, rt.signal))) rt.logger.info(`removed ${placement.loadedImage} from the nodes of ${ext.describe}`);
    } catch (e) {
      rt.logger.warn(`the hollow-node pods on ${placement.cluster ? `cluster "${placement.cluster}"` : `kubeconfig ${placement.kubeconfig}`} (namespace ${placement.namespace}) were not removed: ${(e as Error).message}`);
    }
  },
};

const removeNodes: Step<Ctx> = {
  name: 'remove-nodes',
  title: 'Remove node containers',
  async run(ctx, rt) {
    const containers = await clusterContainers(ctx.driver, ctx.cluster, rt);
    await ctx.driver.removeNodes(containers, rt);
    ctx.result.containers = containers.length;
  },
};

const removeNetworks: Step<Ctx> = {
  name: 'remove-network',
  title: 'Remove the cluster network',
  async run(ctx, rt) {
    const selector = { cluster: ctx.cluster, role: 'network' as const };
    const networks = await ctx.driver.listNetworks(selector, rt);
    for (const n of networks) await ctx.driver.removeNetwork(n.name, selector, rt);
    ctx.result.networks = networks.length;
  },
};

/** Removes the volumes the selector matches; returns how many. */
export async function removeVolumes(driver: Driver, selector: Selector, options: CallOptions = {}): Promise<number> {
  const volumes = await driver.volumes.list(selector, options);
  for (const v of volumes) await driver.volumes.remove(v.name, selector, options);
  return volumes.length;
}

/** Removes a cluster's snapshot images; returns how many. */
export async function removeSnapshotImages(driver: Driver, cluster: string, options: CallOptions = {}): Promise<number> {
  const selector = { cluster, role: 'snapshot' as const };
  const images = await driver.images.list(selector, options);
  for (const image of images) await driver.images.remove(image.id, selector, options);
  return images.length;
}

const removeClusterVolumes: Step<Ctx> = {
  name: 'remove-volumes',
  title: 'Remove volumes',
  async run(ctx, rt) {
    ctx.result.volumes = await removeVolumes(ctx.driver, { cluster: ctx.cluster }, rt);
  },
};

const removeSnapshots: Step<Ctx> = {
  name: 'remove-snapshots',
  title: 'Remove snapshots',
  async run(ctx, rt) {
    ctx.result.images = await removeSnapshotImages(ctx.driver, ctx.cluster, rt);
  },
};

/** A shared network (dind.network) goes with the last cluster on it: after the snapshots, which hold a block too. */
const removeSharedNetworks: Step<Ctx> = {
  name: 'remove-shared-networks',
  title: 'Remove shared networks no cluster is on',
  async run(ctx, rt) {
    ctx.result.networks += await removeUnusedSharedNetworks(ctx.driver, rt);
  },
};

const removeLocalFiles: Step<Ctx> = {
  name: 'remove-kubeconfig',
  title: 'Remove the kubeconfig context and local files',
  async run(ctx) {
    if (ctx.userKubeconfig !== false) {
      await removeFromUserKubeconfig(kubeContextName(ctx.cluster), ctx.userKubeconfig ?? userKubeconfigPath());
    }
    await rm(clusterDir(ctx.home ?? localClusterHome(), ctx.cluster), { recursive: true, force: true });
  },
};

function empty(): TeardownResult {
  return { containers: 0, networks: 0, volumes: 0, images: 0 };
}

/** Removes the cluster's node containers; keeps network, volumes and snapshots. */
export async function down(options: TeardownOptions): Promise<TeardownResult> {
  return withClusterLock(options.home ?? localClusterHome(), options.cluster, `local-cluster down --name ${options.cluster}`, () => downLocked(options));
}

async function downLocked(options: TeardownOptions): Promise<TeardownResult> {
  const ctx: Ctx = { ...options, result: empty() };
  await runSteps([removeHollowPods, removeNodes], ctx, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}), retain: true });
  return ctx.result;
}

/** Removes everything labelled as this cluster's: nodes, network, volumes, snapshots. */
export async function clean(options: TeardownOptions): Promise<TeardownResult> {
  return withClusterLock(options.home ?? localClusterHome(), options.cluster, `local-cluster clean --name ${options.cluster}`, () => cleanLocked(options));
}

async function cleanLocked(options: TeardownOptions): Promise<TeardownResult> {
  const ctx: Ctx = { ...options, result: empty(), removeLoadedImage: true };
  await runSteps([removeHollowPods, removeNodes, removeClusterVolumes, removeNetworks, removeSnapshots, removeSharedNetworks, removeLocalFiles], ctx, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    retain: true,
  });
  return ctx.result;
}
