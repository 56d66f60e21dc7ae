import { existsSync, readFileSync } from 'node:fs';
import { familiesOf, hasIpv6, ipv6Ranges } from '../../config/ip-family.js';
import { subnet6Clash } from '../subnet.js';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { cidrsOverlap, isSupportedKubernetesVersion, SUPPORTED_KUBERNETES } from '../../config/schema.js';
import { kubeletFailsCgroupV1, MIN_KUBERNETES_VERSION } from '../../config/kubernetes-versions.js';
import { resolveKubernetesRelease } from '../../images/kubernetes-release.js';
import { renderClusterKubeadm } from '../kubeadm-config.js';
import { clusterContainers } from '../teardown.js';
import { LABELS, type CallOptions } from '../../contracts/driver.js';
import { PreflightError } from '../../errors.js';
import { extraNodeCapabilities, NODE_CAPABILITIES } from '../../contracts/node.js';
import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { networkName } from '../naming.js';
import { checkSharedBlock } from '../shared-network.js';
import { hasUsableSnapshot } from './snapshot.js';
import type { PlannedNode } from '../node-plan.js';
import { recipeProblems } from '../../images/recipe.js';
import { hollowMemoryProblem } from '../hollow-nodes.js';
import { checkExternal, externalCluster, placementOf, registryProblem } from '../hollow-nodes-on.js';
import { imageCacheDir } from '../images.js';

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/**
 * The nodes' extra mounts and port mappings: every host path exists, no host port is
 * mapped twice (a group of several workers cannot share one), and each is free now.
 */
async function checkNodeSettings(nodes: readonly PlannedNode[], apiPort: number | undefined, remote: boolean): Promise<void> {
  const taken = new Map<string, string>();
  if (apiPort !== undefined) taken.set(`tcp/${apiPort}`, 'cluster.apiServerPort');
  for (const node of nodes) {
    const where = node.role === 'control-plane' ? 'cluster.controlPlane' : `cluster.workers (${node.group ?? 'workers'}, node ${node.hostname})`;
    // a remote engine's host paths and ports are on its machine: the engine judges them
    for (const mount of remote ? [] : node.settings.extraMounts) {
      if (!existsSync(mount.hostPath)) {
        throw new PreflightError('extra-mounts', `${where}: extraMounts hostPath ${mount.hostPath} does not exist on this machine.`, {
          hint: 'Create it first, or fix the path (relative paths are relative to the config file).',
        });
      }
    }
    for (const mapping of node.settings.extraPortMappings) {
      const key = `${mapping.protocol.toLowerCase()}/${mapping.hostPort}`;
      const previous = taken.get(key);
      if (previous) {
        throw new PreflightError('port-mappings', `${where}: host port ${mapping.hostPort}/${mapping.protocol} is mapped twice (also by ${previous}).`, {
          hint: 'Give every mapping its own hostPort; a worker group with a port mapping needs count: 1.',
        });
      }
      taken.set(key, `${where}`);
      if (remote) continue;
      const free = mapping.protocol === 'UDP' ? await udpPortFree(mapping.hostPort, mapping.listenAddress) : await portFree(mapping.hostPort, mapping.listenAddress);
      if (!free) {
        throw new PreflightError('port-mappings', `${where}: extraPortMappings hostPort ${mapping.hostPort}/${mapping.protocol} is already in use on ${mapping.listenAddress}.`, {
          hint: 'Stop what listens there or pick another hostPort.',
        });
      }
    }
  }
}

/** No container of this cluster exists (`up` on an existing cluster from the same config is handled before preflight). */
export async function checkNoContainers(ctx: UpContext, rt: CallOptions): Promise<void> {
  const name = ctx.config.cluster.name;
  const existing = await clusterContainers(ctx.driver, name, rt);
  if (existing.length > 0) {
    throw new PreflightError('cluster-exists', `Cluster "${name}" already has ${existing.length} container(s).`, {
      hint: `Run \`local-cluster down --name ${name}\` first, or pick another cluster.name (--name).`,
    });
  }
}

/** cluster.apiServerPort is free where it will be published, and dind.subnet overlaps no other Docker network. */
export async function checkPortAndSubnet(ctx: UpContext, rt: CallOptions): Promise<void> {
  const { config, driver } = ctx;
  const name = config.cluster.name;
  const port = config.cluster.apiServerPort;
  // on this machine the port must be free at the address it is published on
  if (port !== undefined && !ctx.apiServer.remote && !(await portFree(port, ctx.apiServer.listen))) {
    throw new PreflightError('apiserver-port', `cluster.apiServerPort ${port} is already in use on this host (${ctx.apiServer.listen}).`, {
      hint: 'Pick a free port (--apiserver-port) or leave it unset for a random one.',
    });
  }
  if (config.dind.network) {
    await checkSharedBlock(config, driver, rt);
    return;
  }
  const ours = networkName(name);
  for (const network of await driver.listAllNetworks(rt)) {
    const own = network.name === ours && network.labels[LABELS.cluster] === name;
    const clash = network.subnets.find((s) => cidrsOverlap(s, config.dind.subnet));
    if (clash && !(own && network.subnets.includes(config.dind.subnet))) {
      throw new PreflightError('subnet', `dind.subnet ${config.dind.subnet} overlaps Docker network "${network.name}" (${clash}).`, {
        hint: 'Choose another range with --dind-subnet (for example 10.193.0.0/16), or give each cluster its own.',
      });
    }
  }
}

/** The CNI plugin serves every address family of the cluster (its supports.ipFamilies). */
export function checkCniFamilies(ctx: Pick<UpContext, 'config' | 'cni'>): void {
  const { config, cni } = ctx;
  const served = cni.supports?.ipFamilies ?? ['ipv4'];
  const missing = familiesOf(config).filter((f) => !served.includes(f));
  if (missing.length === 0) return;
  throw new PreflightError('ip-family', `cluster.ipFamily is ${config.cluster.ipFamily}, but CNI plugin "${cni.name}" cannot serve ${missing.map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')).join(' or ')} (its supports.ipFamilies: ${served.join(', ') || 'none'}).`, {
    hint: `Use --ip-family ${served.length === 2 ? 'dual' : served[0] ?? 'ipv4'}, or a CNI plugin that serves ${config.cluster.ipFamily} (see docs/user/ip-families.md).`,
  });
}

/**
 * IPv6 can work here: this machine has it on (a remote engine's machine is judged by the engine
 * when the network is made), and dind.subnet6 and the IPv6 pod and Service ranges are free.
 */
async function checkIpv6(ctx: UpContext, remote: boolean, rt: CallOptions): Promise<void> {
  const { config, driver } = ctx;
  if (!remote) {
    let disabled: string;
    try {
      disabled = readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim();
    } catch {
      disabled = 'missing';
    }
    if (disabled !== '0') {
      throw new PreflightError('ipv6', `cluster.ipFamily is ${config.cluster.ipFamily}, but this machine has IPv6 ${disabled === 'missing' ? 'compiled out (no /proc/sys/net/ipv6)' : 'turned off (net.ipv6.conf.all.disable_ipv6 = 1)'}.`, {
        hint: disabled === 'missing'
          ? 'Use a kernel with IPv6, or --ip-family ipv4.'
          : 'Turn it on with `sysctl -w net.ipv6.conf.all.disable_ipv6=0` (and net.ipv6.conf.default.disable_ipv6=0; put both in /etc/sysctl.d to keep them), or use --ip-family ipv4.',
      });
    }
  }
  const ranges = ipv6Ranges(config);
  const clash = subnet6Clash(config.cluster.name, ranges.node, await driver.listAllNetworks(rt));
  if (clash) {
    throw new PreflightError('subnet', `dind.subnet6 ${ranges.node} overlaps Docker network "${clash.network}" (${clash.range}).`, {
      hint: 'Choose another IPv6 range with --dind-subnet6 (for example fd00:10:193::/64), or leave it unset for a free one.',
    });
  }
}

/** Everything that can be known before anything is created is checked here. */
export const preflight: Step<UpContext> = {
  name: 'preflight',
  title: 'Preflight checks',
  async run(ctx, rt) {
    const { config, driver, cni } = ctx;
    const name = config.cluster.name;
    ctx.info = await driver.info(rt);
    const extra = extraNodeCapabilities(cni.nodeCapabilities);
    rt.logger.info(
      `engine ${ctx.info.engineVersion} at ${ctx.info.endpoint}; nodes run ${
        ctx.info.securityMode === 'privileged'
          ? 'privileged (dind.privileged "always")'
          : `with the node capability set (${NODE_CAPABILITIES.length} capabilities${extra.length ? `, and ${extra.join(', ')} for CNI plugin "${cni.name}"` : ''})`
      }`,
    );
    if (ctx.info.securityMode === 'privileged' && ctx.info.privilegedSupported === false) {
      throw new PreflightError('privileged', `dind.privileged is "always" (--privileged always), but the engine at ${ctx.info.endpoint} refuses privileged containers.`, {
        hint: 'Use --privileged auto (the node capability set), or an engine that allows --privileged.',
      });
    }

    const version = config.source.kubernetesVersion;
    if (!isSupportedKubernetesVersion(version)) {
      throw new PreflightError('kubernetes-version', `source.kubernetesVersion (--kubernetes-version) ${version} is not supported: the node image recipes build Kubernetes ${SUPPORTED_KUBERNETES} (${MIN_KUBERNETES_VERSION} or newer).`, {
        hint: 'Pick a release of v1.32 or newer that the machine\'s Go module proxy serves (`go list -m -versions k8s.io/kubernetes`).',
      });
    }
    if (config.cluster.kubeProxyMode === 'ipvs') {
      const why = existsSync('/proc/net/ip_vs')
        ? 'is not supported yet: the kube-proxy image carries no ipset/ipvsadm tools'
        : 'cannot run here: this kernel has no IPVS (/proc/net/ip_vs is missing)';
      throw new PreflightError('kube-proxy-mode', `cluster.kubeProxyMode ipvs ${why}.`, { hint: 'Use --kube-proxy-mode iptables (the default) or nftables.' });
    }

    await checkNoContainers(ctx, rt);

    ctx.restore = await hasUsableSnapshot(ctx, rt);
    if (ctx.restore) rt.logger.info(`restoring cluster "${name}" from its snapshot`);

    const workers = ctx.plan.nodes.length - 1;
    if (workers > 0 && cni.supports?.multiNode === false) {
      throw new PreflightError('cni-layout', `CNI plugin "${cni.name}" supports a single node only, but the cluster has ${workers} worker(s) (cluster.numNodes/cluster.workers).`, {
        hint: 'Set cluster.numNodes to 0 (--num-nodes 0) or choose another cluster.cniPlugin.',
      });
    }

    checkCniFamilies(ctx);
    const remote = ctx.apiServer.remote;
    if (hasIpv6(config)) await checkIpv6(ctx, remote, rt);
    if (remote) {
      rt.logger.info(
        `the engine runs on another machine (${ctx.driver.location?.endpoint ?? ctx.info.endpoint}${ctx.driver.location?.origin ? `, from ${ctx.driver.location.origin}` : ''}): the API server is published on its ${ctx.apiServer.listen} and the kubeconfig points at ${ctx.apiServer.address}; host paths and ports are that machine's`,
      );
    }
    // what addons keep on the engine or publish (the local registry's port and names, the ingress ports):
    // before the node settings, so a port an addon publishes is refused naming the addon's setting
    for (const addon of ctx.addons ?? []) {
      await addon.preflight?.({ config, driver, logger: rt.logger, signal: rt.signal, cacheDir: imageCacheDir(ctx.home) });
    }
    await checkNodeSettings(ctx.plan.nodes, config.cluster.apiServerPort, remote);
    // on another cluster (cluster.hollowNodesOn): that cluster answers, lets us in and has room, before anything is made
    const hollowOn = config.cluster.hollowNodes > 0 ? placementOf(config) : undefined;
    if (hollowOn) {
      // that cluster first (the kubeconfig, its context, access, room), then what it needs of us (an address it reaches, a registry)
      const ext = await externalCluster(ctx.driver, hollowOn, config.cluster.name, rt.signal);
      await checkExternal(ext, config.cluster.name, config.cluster.hollowNodes, rt.signal);
      // another cluster's pods cannot reach this machine's loopback
      if (hollowOn.kubeconfig && /^(127\.|localhost$)/.test(ctx.apiServer.address)) {
        throw new PreflightError('hollow-nodes-on', `cluster.hollowNodesOn names a kubeconfig (${hollowOn.kubeconfig}): the hollow kubelets there reach the API server at cluster.apiServerAddress, but that is ${ctx.apiServer.address}, this machine's loopback, which no other machine's pod reaches.`, {
          hint: 'Set --apiserver-address to an address of this machine that cluster\'s pods reach (the API server is published there), or run them on a local cluster (--hollow-nodes-on NAME).',
        });
      }
      // a cluster named by a kubeconfig pulls the kubemark image: from the registry named, which must answer
      if (hollowOn.kubeconfig) {
        const registry = config.cluster.hollowNodesRegistry;
        if (!registry) {
          throw new PreflightError('hollow-nodes-on', `cluster.hollowNodesOn names a kubeconfig (${hollowOn.kubeconfig}): that cluster pulls the kubemark image, and no registry to push it to is named.`, {
            hint: 'Name a registry that cluster pulls from with --hollow-nodes-registry HOST[:PORT] (cluster.hollowNodesRegistry; the local registry is localhost:5001, for clusters up with --registry), or run the hollow nodes on a local cluster (--hollow-nodes-on NAME: the image is loaded into its nodes).',
          });
        }
        const problem = await registryProblem(registry, rt.signal);
        if (problem) throw new PreflightError('hollow-nodes-on', `cluster.hollowNodesRegistry ${registry}: ${problem}.`, { hint: 'Start the registry (local-cluster registry, or --registry), or name another with --hollow-nodes-registry.' });
      }
      rt.logger.info(
        `hollow nodes on ${ext.describe}: ${ext.localNodes ? `the kubemark image is loaded into its ${ext.localNodes.length} node(s); its nodes are attached to this cluster's network to reach the API server` : `its nodes pull the kubemark image from ${config.cluster.hollowNodesRegistry} (pushed there now); the hollow kubelets reach the API server at ${ctx.apiServer.address} (cluster.apiServerAddress)`}`,
      );
    }
    // hollow nodes here: memory on this machine (a remote engine's is its own)
    const hollowProblem = remote || hollowOn ? undefined : hollowMemoryProblem(config.cluster.hollowNodes);
    if (hollowProblem) {
      throw new PreflightError('hollow-nodes', `${hollowProblem}.`, { hint: 'Lower --hollow-nodes (cluster.hollowNodes), or use --fake-nodes (KWOK: API objects only, thousands fit) for scale beyond what hollow kubelets allow.' });
    }
    // patches that cannot apply fail here, before any image is built (the binaries judge the rest)
    renderClusterKubeadm(config, ctx.plan, cni, ctx.apiServer.address);

    await checkPortAndSubnet(ctx, rt);
    if (cidrsOverlap(ctx.podSubnet, config.dind.subnet)) {
      throw new PreflightError('pod-subnet', `The pod subnet ${ctx.podSubnet} of CNI "${cni.name}" overlaps dind.subnet ${config.dind.subnet}.`, {
        hint: 'Choose another dind.subnet (--dind-subnet).',
      });
    }


    // a restore brings its images along in the nodes' /var
    const required = ctx.restore ? [] : ctx.images;
    const missing: string[] = [];
    const reasons = new Set<string>();
    for (const { image, neededBy } of required) {
      const problems = image.recipe ? recipeProblems(image.recipe) : [];
      if (problems.length) {
        throw new PreflightError('images', `${neededBy} declares image ${image.ref} with an invalid recipe: ${problems.join('; ')}.`, {
          hint: 'Fix the plugin\'s images() (see the ImageRecipe type in @local-cluster/core), or choose another plugin.',
        });
      }
      if (!image.recipe && !image.build && !(await driver.images.has(image.ref, rt))) {
        missing.push(`${image.ref} (${neededBy})`);
        if (image.whyNoRecipe) reasons.add(image.whyNoRecipe);
      }
    }
    if (missing.length > 0) {
      throw new PreflightError('images', `These images are needed and are neither in the engine nor buildable here: ${missing.join(', ')}.${[...reasons].map((r) => ` ${r}.`).join('')}`, {
        hint: 'No registry is reachable: load them into the engine (docker load), give them a recipe, or choose another CNI/addon.',
      });
    }
    if (!ctx.restore && !(await driver.images.has(ctx.nodeImage.ref, rt))) {
      if (!ctx.nodeImage.build) throw new PreflightError('node-image', `The node image ${ctx.nodeImage.ref} is missing and cannot be built.`);
      // it will be built from Go modules: the proxy must serve this release (a ConfigError naming the setting when not)
      const release = await resolveKubernetesRelease(version, { signal: rt.signal });
      rt.logger.info(
        `node image ${ctx.nodeImage.ref} will be built: Kubernetes ${version} (go ${release.go ?? '?'}: ${release.toolchain ? `GOTOOLCHAIN=${release.toolchain}, local ${release.localGo} is older` : `local ${release.localGo}`}), ` +
          `etcd ${release.images.etcd}, CoreDNS ${release.images.coredns}, pause ${release.images.pause}, containerd ${release.containerd === 2 ? '2 (built from Go modules)' : "1.6 (Debian's)"}`,
      );
    }
    if (kubeletFailsCgroupV1(version) && ctx.info.cgroupVersion === 1) {
      rt.logger.warn(
        `Kubernetes ${version} on a cgroup v1 host: kubelet ${version} refuses cgroup v1 by default, so its failCgroupV1 opt-out is set (failCgroupV1: false) and kubeadm's SystemVerification check is skipped. ` +
          'cgroup v1 is deprecated in Kubernetes (and containerd 2) and support will be removed in a future release: a cgroup v2 host (unified hierarchy) is what upstream supports.',
      );
    }

    rt.logger.debug(`checked: version, layout, port, subnet ${config.dind.subnet}, ${required.length} image(s)`);
  },
};
