import { sharedNetworkLabels } from '../shared-network.js';
import { createServer, type AddressInfo } from 'node:net';
import { extraNodeCapabilities, NODE_CONTRACT } from '../../contracts/node.js';
import { LABELS, type NodeHandle, type NodeSpec, type PortMapping } from '../../contracts/driver.js';
import type { Step } from '../../engine/steps.js';
import { ensureImage } from '../../images/factory.js';
import type { UpContext } from '../context.js';
import { clusterContainers } from '../teardown.js';
import { imageCacheDir } from '../images.js';
import { loadBalancerImage, loadBalancerSpec } from '../load-balancer.js';
import { API_SERVER_PORT, containerName, ownerLabels, snapshotRef, varVolumeName } from '../naming.js';
import type { PlannedNode } from '../node-plan.js';

/**
 * Fixed addresses (.2.. the control planes, then the workers, then the load balancer if any;
 * .1 is Docker's gateway): certificates and kubelet flags name them, so a node must keep its address.
 */
function spec(ctx: UpContext, planned: PlannedNode): NodeSpec {
  const { hostname, role, index, address, settings } = planned;
  const cluster = ctx.config.cluster.name;
  const ports: PortMapping[] = settings.extraPortMappings.map((p) => ({
    containerPort: p.containerPort,
    hostPort: p.hostPort,
    hostIp: p.listenAddress,
    protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
  }));
  // several control planes: the load balancer publishes the API instead
  if (index === 0 && !ctx.plan.loadBalancer) ports.unshift({ containerPort: API_SERVER_PORT, hostIp: ctx.apiServer.listen, hostPort: ctx.apiServerHostPort ?? ctx.config.cluster.apiServerPort ?? 0 });
  return {
    name: containerName(cluster, hostname),
    hostname,
    // restored nodes start from their committed filesystem, with their kept /var
    image: ctx.restore ? snapshotRef(cluster, hostname) : ctx.nodeImage.ref,
    mounts: [
      { type: 'volume', source: varVolumeName(cluster, hostname), target: '/var' },
      // cluster.*.extraMounts: host paths (made absolute and checked by preflight)
      ...settings.extraMounts.map((m) => ({ type: 'bind' as const, source: m.hostPath, target: m.containerPath, readOnly: m.readOnly })),
    ],
    network: ctx.networkName!,
    ip: address,
    ...(planned.address6 ? { ip6: planned.address6 } : {}),
    labels: {
      ...ownerLabels(cluster, 'node', role),
      // what `e2e` needs to know about the running cluster
      [LABELS.cni]: ctx.cni.name,
      [LABELS.networkPolicy]: String(Boolean(ctx.cni.supports?.networkPolicy)),
      ...sharedNetworkLabels(ctx.config),
    },
    // read by the node's entrypoint, which records the node's role
    env: { [NODE_CONTRACT.nodeRoleEnv]: role },
    privileged: true,
    ...(ctx.cni.nodeCapabilities?.length ? { capabilities: extraNodeCapabilities(ctx.cni.nodeCapabilities) } : {}),
    ...(ports.length ? { ports } : {}),
  };
}

/** A TCP port nothing listens on at 127.0.0.1 now. */
function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A port the engine refused to bind: in use on its machine. */
function portTaken(error: unknown): boolean {
  return /port is already allocated|address already in use/i.test(String((error as Error)?.message ?? error));
}

/** A port to try on a remote engine's machine: outside Linux's ephemeral range (32768-60999), so rarely in use. */
function candidatePort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

/**
 * Creates the container that publishes the API port (the control plane, or the load balancer in
 * front of several). The port is fixed at creation (so an engine restart keeps the kubeconfig
 * right): on this machine a free one is found first; on a remote engine's machine nothing here
 * can tell, so a taken port is retried with another (unless cluster.apiServerPort names it).
 */
export async function createPublishing(ctx: UpContext, makeSpec: () => NodeSpec, signal: AbortSignal): Promise<NodeHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.driver.createNode(makeSpec(), { signal });
    } catch (error) {
      if (!ctx.apiServer.remote || ctx.config.cluster.apiServerPort !== undefined || attempt >= 5 || !portTaken(error)) throw error;
      ctx.apiServerHostPort = candidatePort();
    }
  }
}

/**
 * The API server's host port to try first: cluster.apiServerPort, else a free one here, or a
 * candidate on a remote engine's machine. Fixed at creation: the engine keeps it when it restarts
 * the container, so the kubeconfig stays right after an engine restart.
 */
export async function firstApiPort(ctx: UpContext): Promise<number> {
  return ctx.config.cluster.apiServerPort ?? (ctx.apiServer.remote ? candidatePort() : await freeLocalPort());
}

/** Creates the control plane(s), the workers and the load balancer (several control planes) in parallel. */
export const createNodes: Step<UpContext> = {
  name: 'create-nodes',
  title: 'Create node containers',
  async run(ctx, rt) {
    ctx.apiServerHostPort = await firstApiPort(ctx);
    const plans = ctx.plan.nodes;
    const specs = plans.map((node) => spec(ctx, node));
    const cluster = ctx.config.cluster.name;
    const lb = ctx.plan.loadBalancer !== undefined;
    if (lb) await ensureImage({ image: loadBalancerImage, neededBy: `cluster.controlPlanes ${ctx.config.cluster.controlPlanes}` }, { driver: ctx.driver, cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal });
    if (!ctx.restore) {
      // labelled, so `clean` finds them; a restore reuses the snapshot's
      rt.onRollback(`/var volumes of ${cluster}`, async () => {
        for (const s of specs) await ctx.driver.volumes.remove(varVolumeName(cluster, s.hostname), { cluster, role: 'volume' });
      });
      for (const s of specs) await ctx.driver.volumes.create(varVolumeName(cluster, s.hostname), ownerLabels(cluster, 'volume'), rt);
    }
    rt.onRollback(`node containers of ${cluster}`, async () => {
      await ctx.driver.removeNodes(await clusterContainers(ctx.driver, cluster));
    });
    const results = await Promise.allSettled([
      ...plans.map((plan, i) => (plan.index === 0 && !lb ? createPublishing(ctx, () => spec(ctx, plan), rt.signal) : ctx.driver.createNode(specs[i]!, rt))),
      ...(lb ? [createPublishing(ctx, () => loadBalancerSpec(ctx.config, ctx.plan, ctx.networkName!, ctx.apiServerHostPort!, ctx.apiServer.listen), rt.signal)] : []),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const made = results.map((r) => (r as PromiseFulfilledResult<NodeHandle>).value);
    ctx.nodes = made.slice(0, specs.length);
    ctx.loadBalancer = lb ? made[specs.length] : undefined;
    ctx.apiServerHostPort = await (ctx.loadBalancer ?? ctx.nodes[0]!).hostPort(API_SERVER_PORT, rt);
    rt.logger.info(
      `${ctx.nodes.length} node(s); API server on ${ctx.apiServer.address}:${ctx.apiServerHostPort}${ctx.apiServer.listen === ctx.apiServer.address ? '' : ` (listening on ${ctx.apiServer.listen}${ctx.apiServer.remote ? " of the engine's machine" : ''})`}${ctx.loadBalancer ? ` (a load balancer over ${ctx.config.cluster.controlPlanes} control planes)` : ''}`,
    );
  },
};
