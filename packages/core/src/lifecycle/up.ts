import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABELS, type NodeHandle } from '../contracts/driver.js';
import { runSteps, type Step, type StepTiming } from '../engine/steps.js';
import { down } from './teardown.js';
import { withClusterLock } from './lock.js';
import { localClusterHome } from '../config/load.js';
import { controlPlaneOf, kubectlOn, newUpContext, type UpContext, type UpOptions } from './context.js';
import { newBootstrapToken, newCertificateKey } from './kubeadm-config.js';
import { apiServerUrl } from './api-address.js';
import { adminKubeconfigFile, API_SERVER_PORT, CONTROL_PLANE_HOSTNAME, kubeContextName } from './naming.js';
import { preflight } from './steps/preflight.js';
import { nodeImage } from './steps/node-image.js';
import { validateComponents } from './steps/validate.js';
import { buildImages, loadImages } from './steps/images.js';
import { network } from './steps/network.js';
import { attachAddons } from './steps/attach-addons.js';
import { registryHosts } from './steps/registry-hosts.js';
import { createNodes } from './steps/nodes.js';
import { boot } from './steps/boot.js';
import { joinControlPlanes, joinWorkers, kubeadmInit, labelNodes } from './steps/kubeadm.js';
import { installAddons, installCni, startAddons } from './steps/network-plugin.js';
import { waitReady } from './steps/wait-ready.js';
import { waitWorkloads } from './steps/wait-workloads.js';
import { exportKubeconfig } from './steps/kubeconfig.js';
import { discardStaleSnapshot, takeSnapshot } from './steps/snapshot.js';
import { addHollowNodes } from './steps/hollow-nodes.js';
import { clusterContainers } from './teardown.js';
import { createServices, servicesImageStep, servicesPreflight, waitServices } from './steps/services.js';
import { isServicesNode } from './services.js';
import { fakeNodes } from './steps/fake-nodes.js';
import { givesPodNetwork } from '../plugins/no-cni.js';

/** Steps a restore from a snapshot does not need: their results are in the snapshot. */
function buildOnly(step: Step<UpContext>): Step<UpContext> {
  return { ...step, skip: (ctx) => ctx.restore || Boolean(step.skip?.(ctx)) };
}

/** The steps of `up`, in order. Each lives in its own file under steps/. */
export const UP_STEPS: readonly Step<UpContext>[] = [
  preflight,
  buildOnly(nodeImage),
  buildOnly(validateComponents),
  buildOnly(buildImages),
  buildOnly(discardStaleSnapshot),
  network,
  attachAddons,
  createNodes,
  boot,
  registryHosts,
  buildOnly(loadImages),
  buildOnly(kubeadmInit),
  buildOnly(startAddons),
  buildOnly(joinControlPlanes),
  buildOnly(joinWorkers),
  buildOnly(labelNodes),
  buildOnly(installCni),
  buildOnly(installAddons),
  waitReady,
  addHollowNodes,
  exportKubeconfig,
  fakeNodes,
  waitWorkloads,
  takeSnapshot,
];

/** `up --mode services`: one container with etcd, the API server and the API-only controllers. No snapshot: it starts in seconds. */
export const SERVICES_STEPS: readonly Step<UpContext>[] = [servicesPreflight, servicesImageStep, network, createServices, waitServices, exportKubeconfig, fakeNodes];

export interface Cluster extends AsyncDisposable {
  readonly name: string;
  readonly nodes: readonly NodeHandle[];
  /** The admin kubeconfig on the host (server https://127.0.0.1:<port>, or the remote engine's host). */
  readonly kubeconfigPath: string;
  readonly apiServerPort: number;
  /** https://ADDRESS:PORT, as the kubeconfig names it. */
  readonly apiServerUrl: string;
  readonly contextName: string;
  readonly timings: readonly StepTiming[];
  /** Whether this `up` brought the cluster back from its snapshot. */
  readonly restored: boolean;
  /** Whether the cluster was up already, from the same config (this `up` changed nothing). */
  readonly alreadyUp: boolean;
  /** Runs kubectl on the control-plane node. */
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<string>;
  summary(): Record<string, unknown>;
  describe(): string;
  /** Removes the node containers (`down`). */
  dispose(): Promise<void>;
}

/** Keeps the failing step's output and each node's kubelet and containerd logs. */
async function collectLogs(ctx: UpContext, step: string, error: unknown): Promise<string | undefined> {
  const dir = join(ctx.clusterDir, 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(dir, { recursive: true });
  const output = error as { stdout?: string; stderr?: string };
  const text = [String((error as Error)?.message ?? error), output.stdout ?? '', output.stderr ?? ''].join('\n');
  await writeFile(join(dir, `${step}.log`), text);
  for (const [key, transcript] of ctx.transcripts) await writeFile(join(dir, `${key}.log`), transcript);
  if (ctx.nodes.length > 0 && ctx.config.cluster.mode !== 'services') {
    // what the pods were doing (a CNI or addon whose pods never got Ready)
    const pods = await kubectlOn(ctx.nodes[0]!, ['get', 'pods', '-A', '-o', 'wide']).catch((e: Error) => e.message);
    const describe = await kubectlOn(ctx.nodes[0]!, ['describe', 'pods', '-A']).catch((e: Error) => e.message);
    await writeFile(join(dir, 'pods.txt'), `${pods}\n\n${describe}`);
  }
  await Promise.all(
    ctx.nodes.map(async (node) => {
      if (isServicesNode(node.labels)) {
        const r = await node.run(['sh', '-c', 'tail -n 300 /var/log/local-cluster/*.log']).catch(() => undefined);
        if (r) await writeFile(join(dir, `${node.hostname}-components.log`), r.stdout + r.stderr);
      }
      for (const unit of isServicesNode(node.labels) ? [] : ['kubelet', 'containerd']) {
        const r = await node.run(['journalctl', '--no-pager', '-u', unit]).catch(() => undefined);
        if (r) await writeFile(join(dir, `${node.hostname}-${unit}.log`), r.stdout + r.stderr);
      }
      await writeFile(join(dir, `${node.hostname}-container.log`), await node.logs().catch(() => ''));
    }),
  );
  return dir;
}

/**
 * Brings a cluster up: preflight, node image, network, nodes, kubeadm init and
 * join, CNI, addons, readiness, kubeconfig. On failure or cancellation, what
 * this run created is removed (unless `retain`) and the error names the step.
 */
export async function up(options: UpOptions): Promise<Cluster> {
  const name = options.config.cluster.name;
  return withClusterLock(options.home ?? localClusterHome(), name, `local-cluster ${options.rebuild ? 'reup' : 'up'} --name ${name}`, () => upLocked(options));
}

async function upLocked(options: UpOptions): Promise<Cluster> {
  const ctx = newUpContext(options, newBootstrapToken(), newCertificateKey());
  const run = (steps: readonly Step<UpContext>[], retain: boolean) =>
    runSteps(steps, ctx, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      retain,
      collectLogs: (step, error) => collectLogs(ctx, step, error),
    });
  const services = options.config.cluster.mode === 'services';
  const existing = await (services ? existingServices : existingFromSameConfig)(ctx, options.signal);
  if (existing) {
    ctx.nodes = existing.nodes;
    ctx.loadBalancer = existing.loadBalancer;
    ctx.kubeconfigPath = adminKubeconfigFile(ctx.clusterDir);
    ctx.apiServerHostPort = await (existing.loadBalancer ?? controlPlaneOf(existing.nodes)).hostPort(API_SERVER_PORT, options.signal ? { signal: options.signal } : {});
    // up already: only what addons keep on the engine is made again if it went (a removed registry)
    if (existing.ready) return clusterHandle(ctx, services || !(options.addons ?? []).some((a) => a.attach) ? [] : await run([attachAddons], true), true);
    // stopped (the engine restarted, or someone stopped them) or still booting: start what is
    // stopped and wait as a restore does (only heartbeats from now count); nothing is removed
    ctx.restore = true;
    ctx.resumed = true;
    return clusterHandle(ctx, await run(services ? RESUME_SERVICES_STEPS : RESUME_STEPS, true), false);
  }
  return clusterHandle(ctx, await run(services ? SERVICES_STEPS : UP_STEPS, Boolean(options.retain)), false);
}

/** Starts node containers that are not running (after an engine restart, node containers come back by their restart policy; this covers the rest). */
const startStoppedNodes: Step<UpContext> = {
  name: 'start-nodes',
  title: 'Start the stopped node containers',
  async run(ctx, rt) {
    const stopped: NodeHandle[] = [];
    // the nodes, the load balancer and the satellites (hollow nodes, kwok)
    // (not an `e2e-node` container an interrupted run left: nothing needs it)
    for (const node of await clusterContainers(ctx.driver, ctx.config.cluster.name, rt)) {
      if (node.labels[LABELS.role] !== 'node-e2e' && (await node.state(rt)) !== 'running') stopped.push(node);
    }
    rt.logger.info(stopped.length ? `starting ${stopped.map((n) => n.hostname).join(', ')}` : 'every node container is running; waiting for the cluster');
    await Promise.all(stopped.map((n) => n.start(rt)));
    // a stopped container lists no published ports: read the API server's now that it runs
    if (stopped.length) ctx.apiServerHostPort = await (ctx.loadBalancer ?? controlPlaneOf(ctx.nodes)).hostPort(API_SERVER_PORT, rt);
  },
};

/** `up` on a cluster whose containers exist from the same config but are stopped or not Ready yet. */
const RESUME_STEPS: readonly Step<UpContext>[] = [attachAddons, startStoppedNodes, waitReady, addHollowNodes, exportKubeconfig, fakeNodes];

const RESUME_SERVICES_STEPS: readonly Step<UpContext>[] = [startStoppedNodes, waitServices, exportKubeconfig, fakeNodes];

/** The services container when it exists from the same config, and whether its API server answers. */
async function existingServices(ctx: UpContext, signal?: AbortSignal): Promise<{ nodes: NodeHandle[]; loadBalancer?: NodeHandle; ready: boolean } | undefined> {
  const opts = signal ? { signal } : {};
  const found = await ctx.driver.listNodes({ cluster: ctx.config.cluster.name, role: 'node' }, opts);
  const node = found[0];
  if (found.length !== 1 || !isServicesNode(node!.labels) || node!.labels[LABELS.configHash] !== ctx.configHash || !existsSync(adminKubeconfigFile(ctx.clusterDir))) return undefined;
  if ((await node!.state(opts)) !== 'running') return { nodes: [node!], ready: false };
  const ready = await kubectlOn(node!, ['get', '--raw', '/readyz'], opts).catch(() => '');
  return { nodes: [node!], ready: ready.trim() === 'ok' };
}

/**
 * The cluster's nodes when they exist from the same config (their snapshot made from it, its
 * kubeconfig written), and whether the cluster is up already: every node running and the API
 * server answering. Otherwise undefined (and preflight says what is wrong).
 */
async function existingFromSameConfig(ctx: UpContext, signal?: AbortSignal): Promise<{ nodes: NodeHandle[]; loadBalancer?: NodeHandle; ready: boolean } | undefined> {
  const opts = signal ? { signal } : {};
  const name = ctx.config.cluster.name;
  const found = await ctx.driver.listNodes({ cluster: name, role: 'node' }, opts);
  if (found.length === 0 || !existsSync(adminKubeconfigFile(ctx.clusterDir))) return undefined;
  const snapshots = await ctx.driver.images.list({ cluster: name, role: 'snapshot' }, opts);
  if (snapshots.length !== found.length || snapshots.some((i) => i.labels[LABELS.configHash] !== ctx.configHash)) return undefined;
  const [loadBalancer] = await ctx.driver.listNodes({ cluster: name, role: 'load-balancer' }, opts);
  if (ctx.plan.loadBalancer && !loadBalancer) return undefined;
  const nodes = [...found].sort((a, b) => (a.hostname === CONTROL_PLANE_HOSTNAME ? -1 : b.hostname === CONTROL_PLANE_HOSTNAME ? 1 : a.hostname.localeCompare(b.hostname)));
  const states = await Promise.all([...nodes, ...(loadBalancer ? [loadBalancer] : [])].map((n) => n.state(opts)));
  const base = { nodes, ...(loadBalancer ? { loadBalancer } : {}) };
  if (states.some((s) => s !== 'running')) return { ...base, ready: false };
  const ready = await kubectlOn(controlPlaneOf(nodes), ['get', '--raw', '/readyz'], opts).catch(() => '');
  return { ...base, ready: ready.trim() === 'ok' };
}

function clusterHandle(ctx: UpContext, timings: StepTiming[], alreadyUp: boolean): Cluster {
  const controlPlane = controlPlaneOf(ctx.nodes);
  const name = ctx.config.cluster.name;
  const fake = ctx.config.cluster.fakeNodes;
  const what =
    ctx.config.cluster.mode === 'services'
      ? `services mode: etcd, kube-apiserver and the API-only controllers in one container; ${fake ? `${fake} KWOK fake nodes (no scheduler: pods stay Pending)` : 'no nodes'}` : `${ctx.nodes.map((n) => n.hostname).join(', ')} (CNI ${ctx.cni.name})`;
  const cluster: Cluster = {
    name,
    nodes: ctx.nodes,
    kubeconfigPath: ctx.kubeconfigPath!,
    apiServerPort: ctx.apiServerHostPort!,
    apiServerUrl: apiServerUrl(ctx.apiServer.address, ctx.apiServerHostPort!),
    contextName: kubeContextName(name),
    timings,
    restored: ctx.restore,
    alreadyUp,
    kubectl: (args, opts) => kubectlOn(controlPlane, args, opts),
    summary: () => ({
      name,
      nodes: ctx.nodes.map((n) => ({ name: n.hostname, role: n.role })),
      kubeconfig: ctx.kubeconfigPath,
      context: kubeContextName(name),
      apiServer: apiServerUrl(ctx.apiServer.address, ctx.apiServerHostPort!),
      mode: ctx.config.cluster.mode,
      ...(ctx.config.cluster.mode === 'services' ? {} : { cni: ctx.cni.name }),
      restoredFromSnapshot: ctx.restore,
      alreadyUp,
      timings,
    }),
    describe: () =>
      [
        `Cluster "${name}" is ${alreadyUp ? 'already up (nothing to do)' : `up${ctx.resumed ? ' again (its stopped node containers started, data kept)' : ctx.restore ? ' (restored from its snapshot)' : ''}`}: ${what}.`,
        ...(givesPodNetwork(ctx.cni) ? [] : [`No CNI (cluster.cniPlugin "${ctx.cni.name}"): the nodes are NotReady until you install one (pod subnet ${ctx.podSubnet}).`]),
        `kubectl context: ${kubeContextName(name)}`,
        `export KUBECONFIG=${ctx.kubeconfigPath}`,
      ].join('\n'),
    dispose: async () => {
      await down({ driver: ctx.driver, cluster: name });
    },
    [Symbol.asyncDispose]: () => cluster.dispose(),
  };
  return cluster;
}
