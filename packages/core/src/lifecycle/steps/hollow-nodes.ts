import { randomInt } from 'node:crypto';
import type { NodeHandle } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { ensureImage } from '../../images/factory.js';
import { readNodeFile, waitFor } from '../../nodeutil.js';
import { ADMIN_CONF, controlPlaneOf, kubectlOn, type UpContext } from '../context.js';
import { bootstrapKubeconfig, HOLLOW_LABEL, HOLLOW_TOKEN_ID, hollowContainerHostname, hollowGroups, hollowSpec, inClusterApiServer, kubemarkImage } from '../hollow-nodes.js';
import { imageCacheDir } from '../images.js';
import { loadImagesIntoNodes } from '../../images/factory.js';
import { externalCluster, hollowManifests, hollowNamespace, hollowPodStatus, nodeHasImage, placementOf, readPlacement, registryImage, removeHollowNamespace, writePlacement, type ExternalCluster } from '../hollow-nodes-on.js';
import { sharedNetworkSelector } from '../shared-network.js';
import { LABELS } from '../../contracts/driver.js';
import { LocalClusterError } from '../../errors.js';
import { readyCondition, type KubeObjectList } from '../kube-objects.js';

/**
 * The hollow nodes' bootstrap token: the one a previous `up` made (kept in etcd, so a restore
 * finds it), else a new one that never expires, in kubeadm's default node group (whose client
 * certificate requests the controller manager approves).
 */
async function hollowToken(controlPlane: NodeHandle, signal: AbortSignal): Promise<string> {
  const secret = await kubectlOn(controlPlane, ['-n', 'kube-system', 'get', 'secret', `bootstrap-token-${HOLLOW_TOKEN_ID}`, '--ignore-not-found', '-o', 'jsonpath={.data.token-secret}'], { signal });
  if (secret.trim()) return `${HOLLOW_TOKEN_ID}.${Buffer.from(secret.trim(), 'base64').toString('utf8')}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const token = `${HOLLOW_TOKEN_ID}.${Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
  await controlPlane.exec(['kubeadm', 'token', 'create', token, '--ttl', '0', '--description', 'local-cluster hollow nodes (TLS bootstrap)', `--kubeconfig=${ADMIN_CONF}`], { signal });
  return token;
}

/** Hollow nodes Ready (heartbeat since `since` ms, 0: any), out of those registered. */
async function hollowReady(controlPlane: NodeHandle, since: number, signal: AbortSignal): Promise<number> {
  const list = JSON.parse(await kubectlOn(controlPlane, ['get', 'nodes', '-l', HOLLOW_LABEL, '-o', 'json'], { signal })) as KubeObjectList;
  return list.items.filter((n) => {
    const ready = readyCondition(n);
    return ready !== undefined && (since === 0 || Date.parse(ready.lastHeartbeatTime ?? '') >= since);
  }).length;
}

/**
 * cluster.hollowNodes: the kubemark image (built once per version), the containers of hollow
 * kubelets (made again after a restore; started after an engine restart), then every hollow
 * node Ready with a heartbeat from this run.
 */
export const addHollowNodes: Step<UpContext> = {
  name: 'hollow-nodes',
  title: 'Add hollow nodes',
  skip: (ctx) => ctx.config.cluster.hollowNodes === 0,
  async run(ctx, rt) {
    const { config } = ctx;
    const count = config.cluster.hollowNodes;
    const cluster = config.cluster.name;
    const image = kubemarkImage(config.source.kubernetesVersion);
    await ensureImage({ image, neededBy: `cluster.hollowNodes ${count}` }, { driver: ctx.driver, cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal, ...(ctx.rebuild ? { rebuild: true } : {}) });

    const placement = placementOf(config);
    if (placement) {
      await hollowNodesOnExternal(ctx, rt, placement, image.ref);
    } else {
      await hollowNodesInContainers(ctx, rt, image.ref);
    }
    await waitHollowReady(ctx, rt, placement ? await externalCluster(ctx.driver, placement, cluster, rt.signal) : undefined);
  },
};

/** The bootstrap kubeconfig the hollow kubelets start with, for the API server at `server`. */
async function hollowBootstrap(ctx: UpContext, rt: StepRuntime, server: string): Promise<string> {
  const controlPlane = controlPlaneOf(ctx.nodes);
  const token = await hollowToken(controlPlane, rt.signal);
  const ca = /certificate-authority-data:\s*(\S+)/.exec(await readNodeFile(controlPlane, ADMIN_CONF, rt))?.[1];
  if (!ca) throw new Error(`${ADMIN_CONF} on ${controlPlane.hostname} names no certificate-authority-data`);
  return bootstrapKubeconfig(server, ca, token);
}

async function hollowNodesInContainers(ctx: UpContext, rt: StepRuntime, image: string): Promise<void> {
    const { config } = ctx;
    const count = config.cluster.hollowNodes;
    const cluster = config.cluster.name;
    const groups = hollowGroups(count);
    const existing = new Map((await ctx.driver.listNodes({ cluster, role: 'hollow-nodes' }, rt)).map((n) => [n.hostname, n]));
    const missing = groups.map((names, c) => ({ names, c })).filter(({ c }) => !existing.has(hollowContainerHostname(c)));
    if (missing.length) {
      const kubeconfig = await hollowBootstrap(ctx, rt, inClusterApiServer(ctx.plan));
      rt.onRollback(`hollow-node containers of ${cluster}`, async () => {
        await ctx.driver.removeNodes(await ctx.driver.listNodes({ cluster, role: 'hollow-nodes' }));
      });
      await Promise.all(missing.map(({ names, c }) => ctx.driver.createNode(hollowSpec(config, image, ctx.networkName ?? `local-cluster-${cluster}`, c, names, kubeconfig), rt)));
    }
    for (const node of existing.values()) if ((await node.state(rt)) !== 'running') await node.start(rt);
    rt.logger.info(`${count} hollow kubelet(s) in ${groups.length} container(s) (${missing.length} made now); waiting for them to register and report Ready`);
}

/**
 * Hollow nodes as pods on another cluster (cluster.hollowNodesOn). A local cluster on the same
 * engine: its node containers are attached to this cluster's network (only that direction: its
 * pods leave their node masqueraded, so they reach the API server at its in-cluster address, which
 * the certificate names), again on every `up` since this cluster's network is made again after a
 * `clean` and an attachment goes with the container; on one shared network (dind.network) nothing
 * is attached. The kubemark image is loaded into its nodes unless they have it. Then the
 * namespace, the bootstrap kubeconfig's Secret and the StatefulSet are applied (made again after
 * a `down`), and the placement is recorded for `down`, `clean` and `status`.
 */
async function hollowNodesOnExternal(ctx: UpContext, rt: StepRuntime, placement: NonNullable<ReturnType<typeof placementOf>>, localImage: string): Promise<void> {
  let image = localImage;
  const { config } = ctx;
  const count = config.cluster.hollowNodes;
  const cluster = config.cluster.name;
  const ext = await externalCluster(ctx.driver, placement, cluster, rt.signal);
  let server = inClusterApiServer(ctx.plan);
  let loadedImage: string | undefined;
  if (ext.localNodes) {
    const network = ctx.networkName ?? `local-cluster-${cluster}`;
    const shared = ctx.nodes[0]?.labels[LABELS.sharedNetwork];
    const selector = shared ? sharedNetworkSelector(shared) : { cluster, role: 'network' as const };
    for (const node of ext.localNodes) {
      if (shared && node.labels[LABELS.sharedNetwork] === shared) continue;
      const address = await ctx.driver.connectNetwork!(network, node.name, { ...rt, selector });
      rt.logger.info(`${placement.cluster}/${node.hostname} reaches this cluster's network ${network} at ${address}`);
    }
    const lacking = [];
    for (const node of ext.localNodes) if (!(await nodeHasImage(node, image, rt.signal))) lacking.push(node);
    await loadImagesIntoNodes(ctx.driver, lacking, [image], { cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal });
    // loaded now, or by an earlier `up` of this cluster: `clean` removes it
    const earlier = (await readPlacement(ctx.clusterDir))?.loadedImage;
    if (lacking.length || earlier === image) loadedImage = image;
  } else {
    server = `https://${ctx.apiServer.address}:${ctx.apiServerHostPort}`;
    const registry = config.cluster.hollowNodesRegistry!;
    if (!ctx.driver.images.push) throw new Error(`driver "${ctx.driver.name}" cannot push images, so the kubemark image cannot reach ${registry}`);
    const pushed = registryImage(registry, image);
    const started = performance.now();
    await ctx.driver.images.push(image, pushed, rt);
    rt.logger.info(`pushed ${image} as ${pushed} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    image = pushed;
  }
  const kubeconfig = await hollowBootstrap(ctx, rt, server);
  rt.onRollback(`hollow-node pods of ${cluster} on ${ext.describe}`, async () => {
    await removeHollowNamespace(ext, cluster);
  });
  const manifests = hollowManifests(cluster, count, image, kubeconfig, ext.localNodes ? 'Never' : 'IfNotPresent');
  await ext.kubectl(['apply', '-f', '-'], { stdin: manifests.map((m) => JSON.stringify(m)).join('\n'), signal: rt.signal });
  await writePlacement(ctx.clusterDir, { ...placement, namespace: hollowNamespace(cluster), count, ...(loadedImage ? { loadedImage } : {}) });
  rt.logger.info(`${count} hollow kubelet(s) in ${Math.ceil(count / Math.min(count, 25))} pod(s) on ${ext.describe}, namespace ${hollowNamespace(cluster)}, reaching the API server at ${server}`);
  // a pod that cannot be scheduled or started is a failure with its reason, not a timeout
  await waitFor(
    'the hollow-node pods Running',
    async () => {
      const s = await hollowPodStatus(ext, cluster, rt.signal);
      const stuck = s.waiting.find((w) => /Unschedulable|ErrImageNeverPull|ImagePullBackOff|ErrImagePull|CrashLoopBackOff|CreateContainerConfigError/.test(w));
      if (stuck) throw new Error(`hollow-node pod on ${ext.describe}: ${stuck}`);
      return s.pods > 0 && s.running === s.pods ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 1000, signal: rt.signal },
  );
  // the API server's address as the pods reach it: a TCP connection from the first pod, so an address that cluster cannot reach fails now, with the reason
  const { hostname, port } = new URL(server);
  const reached = await ext
    .kubectl(['-n', hollowNamespace(cluster), 'exec', 'hollow-nodes-0', '--', 'sh', '-c', `nc -w 5 ${hostname} ${port} </dev/null >/dev/null 2>&1 && echo reached || echo unreachable`], { signal: rt.signal })
    .catch((e: Error) => `unreachable (${e.message})`);
  if (reached.trim() !== 'reached') {
    throw new LocalClusterError(`The hollow-node pods on ${ext.describe} cannot reach the API server at ${server}: a TCP connection from pod hollow-nodes-0 failed.`, {
      hint: placement.kubeconfig ? 'Set --apiserver-address (cluster.apiServerAddress) to an address of this machine that cluster\'s pods reach (the API server is published there).' : 'Check that the two clusters\' networks are attached (docker network inspect).',
    });
  }
}

/** Every hollow node Ready with a heartbeat of this run (and, on an external cluster, its pods Running). */
async function waitHollowReady(ctx: UpContext, rt: StepRuntime, ext: ExternalCluster | undefined): Promise<void> {
    const count = ctx.config.cluster.hollowNodes;
    const controlPlane = controlPlaneOf(ctx.nodes);

    // a restored etcd still holds their Ready status of before: only a heartbeat of this run counts
    const since = ctx.restore || ctx.resumed ? ctx.startedAt - 1000 : 0;
    let ready = 0;
    let lastReport = 0;
    await waitFor(
      `${count} hollow node(s) Ready`,
      async () => {
        ready = await hollowReady(controlPlane, since, rt.signal);
        if (Date.now() - lastReport > 5000 && ready < count) {
          rt.logger.info(`${ready} of ${count} hollow nodes Ready`);
          lastReport = Date.now();
        }
        return ready >= count ? true : undefined;
      },
      { timeoutMs: 120_000 + count * 3_000, intervalMs: 1000, signal: rt.signal },
    ).catch(async (e: Error) => {
      // on another cluster: what the first hollow kubelet says (an API server it cannot reach, most often)
      const said = ext ? await ext.kubectl(['-n', hollowNamespace(ctx.config.cluster.name), 'exec', 'hollow-nodes-0', '--', 'tail', '-n', '3', '/var/log/hollow/hollow-node-1.log'], { signal: rt.signal }).catch(() => '') : '';
      throw new Error(`${e.message} (${ready} of ${count} Ready; ${said ? `hollow-node-1 says: ${said.trim().slice(-600)}; ` : ''}${ext ? `on ${ext.describe}, ` : ''}each ${ext ? 'pod' : 'container'}'s kubelet logs are in /var/log/hollow/)`);
    });
    rt.logger.info(`${count} hollow nodes Ready`);
}
