import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/schema.js';
import type { Addon } from '../contracts/addon.js';
import type { CniPlugin, KubeadmPatches } from '../contracts/cni.js';
import type { ClusterContext, ImageRequirement, Logger } from '../contracts/context.js';
import type { Driver, DriverInfo, NodeHandle } from '../contracts/driver.js';
import { localClusterHome } from '../config/load.js';
import { CONTROL_PLANE_HOSTNAME } from './naming.js';
import { neededImages } from './images.js';
import { manifestOf, waitForRollout } from './rollout.js';
import { canonicalJson } from '../images/recipe.js';
import { apiServerPublish, type ApiServerPublish } from './api-address.js';
import type { NeededImage } from '../images/factory.js';
import { planNodes, type NodePlan } from './node-plan.js';
import { podSubnetOf } from './kubeadm-config.js';
import { ipv6Ranges } from '../config/ip-family.js';

export const ADMIN_CONF = '/etc/kubernetes/admin.conf';

export interface UpOptions {
  config: ResolvedConfig;
  driver: Driver;
  cni: CniPlugin;
  addons?: readonly Addon[];
  /** The node image and how to build it offline (see @local-cluster/images). */
  nodeImage: ImageRequirement;
  /** The tool's home (kubeconfigs, logs, caches). Default: $LOCAL_CLUSTER_HOME or ~/.local-cluster. */
  home?: string;
  /** Merge the kubeconfig into this file (default: $KUBECONFIG's first path or ~/.kube/config); false: don't. */
  userKubeconfig?: string | false;
  signal?: AbortSignal;
  onEvent?: import('../engine/steps.js').ProgressListener;
  /** Keep what a failed run created. */
  retain?: boolean;
  /** `reup`: rebuild images whose inputs changed. */
  rebuild?: boolean;
}

/** Shared state of one `up` run; steps fill it in order. */
export interface UpContext extends UpOptions {
  home: string;
  clusterDir: string;
  /** The nodes the config lays out, their addresses and what follows from them: made once, here, for every step. */
  plan: NodePlan;
  info?: DriverInfo;
  patches: KubeadmPatches;
  podSubnet: string;
  bootstrapToken: string;
  /** Encrypts the certificates `kubeadm init --upload-certs` shares with joining control planes. */
  certificateKey: string;
  networkName?: string;
  nodes: NodeHandle[];
  /** The API servers' load balancer (several control planes only). */
  loadBalancer?: NodeHandle;
  apiServerHostPort?: number;
  /** Where the API server is published and the address the kubeconfig names (local or remote engine). */
  apiServer: ApiServerPublish;
  kubeconfigPath?: string;
  /** Output of the commands steps ran, kept for failure logs. */
  transcripts: Map<string, string>;
  /** What a snapshot must have been made from to be reused. */
  configHash: string;
  /** Set by preflight: this run brings the cluster back from its snapshot. */
  restore: boolean;
  /** This run started the existing, stopped node containers of the cluster (engine restart). */
  resumed?: boolean;
  /** When this run started (ms since the epoch). */
  startedAt: number;
  /** Images the CNI and addons declare (built by the factory, loaded into nodes). */
  images: NeededImage[];
  /**
   * The load of the images only the control planes get (`loadIntoNodes: 'control-planes'`),
   * which runs while kubeadm brings the cluster up; the CNI and addon steps wait for it.
   */
  controlPlaneImages?: Promise<void>;
  /** The addon installs the start-addons step started (by addon name); the addons step waits for them. */
  addonsStarted?: Map<string, Promise<void>>;
  /** Services mode: the image of its one container. */
  servicesImage?: ImageRequirement;
}

/**
 * The inputs a cluster's state depends on; a snapshot made from others is stale.
 * Not the API server's host port (the kubeconfig is rewritten) nor verbosity.
 */
export function snapshotConfigHash(options: UpOptions, podSubnet: string, images: readonly NeededImage[] = []): string {
  const { cluster, dind, source } = options.config;
  // cluster.ipFamily ipv4 (the default) leaves the hash as it was before the setting existed
  const clusterPart = { ...cluster, apiServerPort: undefined, ...(cluster.ipFamily === 'ipv4' ? { ipFamily: undefined } : {}) };
  // the certificate names the address clients use; 127.0.0.1 is always in it
  const { address } = apiServerPublish(options.config, options.driver);
  return createHash('sha256')
    .update(
      JSON.stringify({
        cluster: clusterPart,
        subnet: dind.subnet,
        ...(cluster.ipFamily !== 'ipv4' ? { subnet6: ipv6Ranges(options.config).node } : {}),
        ...(dind.network ? { network: dind.network } : {}),
        source,
        nodeImage: options.nodeImage.ref,
        cni: options.cni.name,
        podSubnet,
        ...(address !== '127.0.0.1' ? { apiServerAddress: address } : {}),
        addons: (options.addons ?? []).map((a) => a.name),
        // a changed image recipe makes a new cluster
        images: images.map((n) => [n.image.ref, n.image.recipe ? canonicalJson(n.image.recipe) : '']),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

export function clusterDir(home: string, cluster: string): string {
  return join(home, 'clusters', cluster);
}

export function newUpContext(options: UpOptions, bootstrapToken: string, certificateKey: string): UpContext {
  const home = options.home ?? localClusterHome();
  const patches = options.cni.configure?.(options.config) ?? {};
  const podSubnet = podSubnetOf(options.config, options.cni, patches);
  const images = neededImages(options.config, options.cni, options.addons);
  return {
    ...options,
    home,
    clusterDir: clusterDir(home, options.config.cluster.name),
    plan: planNodes(options.config, options.addons),
    patches,
    podSubnet,
    bootstrapToken,
    certificateKey,
    nodes: [],
    transcripts: new Map(),
    configHash: snapshotConfigHash(options, podSubnet, images),
    apiServer: apiServerPublish(options.config, options.driver),
    images,
    restore: false,
    startedAt: Date.now(),
  };
}

export function controlPlaneOf(nodes: readonly NodeHandle[]): NodeHandle {
  const node = nodes.find((n) => n.hostname === CONTROL_PLANE_HOSTNAME);
  if (!node) throw new Error('the cluster has no control-plane node');
  return node;
}

/** Runs kubectl with the admin kubeconfig on the control-plane node. */
export async function kubectlOn(node: NodeHandle, args: readonly string[], options: { stdin?: string; signal?: AbortSignal } = {}): Promise<string> {
  const result = await node.exec(['kubectl', `--kubeconfig=${ADMIN_CONF}`, ...args], {
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return result.stdout;
}

/** The context plugins see. */
export function pluginContext(ctx: UpContext, logger: Logger, signal: AbortSignal): ClusterContext {
  return clusterContext({ config: ctx.config, driver: ctx.driver, nodes: ctx.nodes, podSubnet: ctx.podSubnet }, logger, signal);
}

/** A plugin context over a cluster's nodes (an `up` in progress, or a running cluster). */
export function clusterContext(
  base: { config: ResolvedConfig; driver: Driver; nodes: readonly NodeHandle[]; podSubnet: string },
  logger: Logger,
  signal: AbortSignal,
): ClusterContext {
  const controlPlane = controlPlaneOf(base.nodes);
  return {
    ...base,
    controlPlane,
    logger,
    signal,
    kubectl: (args, options) => kubectlOn(controlPlane, args, { ...options, signal }),
    apply: async (manifest) => {
      await kubectlOn(controlPlane, ['apply', '-f', '-'], { stdin: manifestOf(manifest), signal });
    },
    waitForRollout: (kind, namespace, name, options) =>
      waitForRollout((args) => kubectlOn(controlPlane, args, { signal }), kind, namespace, name, options),
  };
}
