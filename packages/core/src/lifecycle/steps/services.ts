import { dirname } from 'node:path';
import { LABELS } from '../../contracts/driver.js';
import type { Step } from '../../engine/steps.js';
import { ensureImage } from '../../images/factory.js';
import { waitFor } from '../../nodeutil.js';
import { ADMIN_CONF, type UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';
import { API_SERVER_PORT } from '../naming.js';
import { servicesImage, servicesSpec } from '../services.js';
import { clusterContainers } from '../teardown.js';
import { checkNoContainers, checkPortAndSubnet } from './preflight.js';
import { createPublishing, firstApiPort } from './nodes.js';

/** Services mode's preflight: the engine answers, the cluster has no containers, the port is free, the subnet its own. */
export const servicesPreflight: Step<UpContext> = {
  name: 'preflight',
  title: 'Preflight checks',
  async run(ctx, rt) {
    ctx.info = await ctx.driver.info(rt);
    rt.logger.info(`engine ${ctx.info.engineVersion} at ${ctx.info.endpoint}; services mode: one unprivileged container (etcd, kube-apiserver, kube-controller-manager)`);
    await checkNoContainers(ctx, rt);
    await checkPortAndSubnet(ctx, rt);
  },
};

/** The services image: the version's binaries (built once for the node image, or now) in a busybox image. */
export const servicesImageStep: Step<UpContext> = {
  name: 'services-image',
  title: 'Ensure the services image',
  async run(ctx, rt) {
    if (!ctx.nodeImage.binaries) throw new Error(`the node image ${ctx.nodeImage.ref} names no binaries: services mode needs them`);
    const cacheDir = imageCacheDir(ctx.home);
    const binaries = await ctx.nodeImage.binaries({ driver: ctx.driver, logger: rt.logger, signal: rt.signal, cacheDir: dirname(cacheDir), labels: { [LABELS.managed]: 'true', [LABELS.role]: 'image' } });
    ctx.servicesImage = await servicesImage(ctx.config.source.kubernetesVersion, binaries, cacheDir);
    const status = await ensureImage({ image: ctx.servicesImage, neededBy: 'cluster.mode services' }, { driver: ctx.driver, cacheDir, logger: rt.logger, signal: rt.signal, ...(ctx.rebuild ? { rebuild: true } : {}) });
    if (status.state === 'built') rt.logger.info(`services image ${ctx.servicesImage.ref} is cached`);
  },
};

/** The one container, publishing the API port; removed again if `up` fails or is interrupted. */
export const createServices: Step<UpContext> = {
  name: 'create-services',
  title: 'Create the services container',
  async run(ctx, rt) {
    const cluster = ctx.config.cluster.name;
    ctx.apiServerHostPort = await firstApiPort(ctx);
    rt.onRollback(`the services container of ${cluster}`, async () => {
      await ctx.driver.removeNodes(await clusterContainers(ctx.driver, cluster));
    });
    const node = await createPublishing(
      ctx,
      () => servicesSpec(ctx.config, ctx.plan, ctx.servicesImage!.ref, ctx.networkName!, ctx.apiServerHostPort!, ctx.apiServer.listen, ctx.apiServer.address, ctx.configHash),
      rt.signal,
    );
    ctx.nodes = [node];
    ctx.apiServerHostPort = await node.hostPort(API_SERVER_PORT, rt);
    rt.logger.info(`API server on ${ctx.apiServer.address}:${ctx.apiServerHostPort}`);
  },
};

/**
 * Ready as a user sees it: the admin kubeconfig can read the default ServiceAccount, so the API
 * server answers, the admin group is bound and the controller manager runs.
 */
export const waitServices: Step<UpContext> = {
  name: 'wait-ready',
  title: 'Wait for the API server and controllers',
  async run(ctx, rt) {
    const node = ctx.nodes[0]!;
    await waitFor(
      'the API server and the default ServiceAccount',
      async () => {
        const r = await node.run(['kubectl', `--kubeconfig=${ADMIN_CONF}`, '-n', 'default', 'get', 'serviceaccount', 'default', '-o', 'name'], { signal: rt.signal }).catch(() => undefined);
        if (r?.exitCode === 0) return true;
        if ((await node.state(rt)) !== 'running') throw new Error(`the services container stopped: ${(await node.logs().catch(() => '')).trim().split('\n').slice(-15).join('\n')}`);
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, signal: rt.signal },
    );
  },
};
