import { randomInt } from 'node:crypto';
import type { NodeHandle } from '../../contracts/driver.js';
import type { Step } from '../../engine/steps.js';
import { ensureImage } from '../../images/factory.js';
import { readNodeFile, waitFor } from '../../nodeutil.js';
import { ADMIN_CONF, controlPlaneOf, kubectlOn, type UpContext } from '../context.js';
import { bootstrapKubeconfig, HOLLOW_LABEL, HOLLOW_TOKEN_ID, hollowContainerHostname, hollowGroups, hollowSpec, inClusterApiServer, kubemarkImage } from '../hollow-nodes.js';
import { imageCacheDir } from '../images.js';
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
    const controlPlane = controlPlaneOf(ctx.nodes);
    const image = kubemarkImage(config.source.kubernetesVersion);
    await ensureImage({ image, neededBy: `cluster.hollowNodes ${count}` }, { driver: ctx.driver, cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal, ...(ctx.rebuild ? { rebuild: true } : {}) });

    const groups = hollowGroups(count);
    const existing = new Map((await ctx.driver.listNodes({ cluster, role: 'hollow-nodes' }, rt)).map((n) => [n.hostname, n]));
    const missing = groups.map((names, c) => ({ names, c })).filter(({ c }) => !existing.has(hollowContainerHostname(c)));
    if (missing.length) {
      const token = await hollowToken(controlPlane, rt.signal);
      const ca = /certificate-authority-data:\s*(\S+)/.exec(await readNodeFile(controlPlane, ADMIN_CONF, rt))?.[1];
      if (!ca) throw new Error(`${ADMIN_CONF} on ${controlPlane.hostname} names no certificate-authority-data`);
      const kubeconfig = bootstrapKubeconfig(inClusterApiServer(ctx.plan), ca, token);
      rt.onRollback(`hollow-node containers of ${cluster}`, async () => {
        await ctx.driver.removeNodes(await ctx.driver.listNodes({ cluster, role: 'hollow-nodes' }));
      });
      await Promise.all(missing.map(({ names, c }) => ctx.driver.createNode(hollowSpec(config, image.ref, ctx.networkName ?? `local-cluster-${cluster}`, c, names, kubeconfig), rt)));
    }
    for (const node of existing.values()) if ((await node.state(rt)) !== 'running') await node.start(rt);
    rt.logger.info(`${count} hollow kubelet(s) in ${groups.length} container(s) (${missing.length} made now); waiting for them to register and report Ready`);

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
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${ready} of ${count} Ready; each container's kubelet logs are in /var/log/hollow/)`);
    });
    rt.logger.info(`${count} hollow nodes Ready`);
  },
};
