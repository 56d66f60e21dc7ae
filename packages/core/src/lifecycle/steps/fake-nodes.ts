import { readFile } from 'node:fs/promises';
import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { ensureFakeNodes } from '../fake-nodes.js';
import { imageCacheDir } from '../images.js';
import { apiAccessFromKubeconfig } from '../kube-api.js';
import { API_SERVER_PORT, networkName } from '../naming.js';

/** The API server's URL on the cluster network: the load balancer's (several control planes) or the first control plane's. */
export function networkApiServerUrl(ctx: Pick<UpContext, 'plan'>): string {
  return `https://${ctx.plan.apiEndpointAddress}:${API_SERVER_PORT}`;
}

/** cluster.fakeNodes: kwok's container (made again on every `up`: fresh, restored or resumed) and its Ready fake nodes; in services mode too (Node objects for API-level scale tests; no scheduler places pods there). */
export const fakeNodes: Step<UpContext> = {
  name: 'fake-nodes',
  title: 'Start kwok and its fake nodes',
  skip: (ctx) => ctx.config.cluster.fakeNodes === 0,
  async run(ctx, rt) {
    await ensureFakeNodes({
      driver: ctx.driver,
      config: ctx.config,
      network: ctx.networkName ?? networkName(ctx.config.cluster.name),
      apiServerUrl: networkApiServerUrl(ctx),
      admin: apiAccessFromKubeconfig(await readFile(ctx.kubeconfigPath!, 'utf8')),
      clusterRanges: [ctx.config.dind.subnet, ctx.podSubnet, ctx.config.cluster.serviceSubnet],
      cacheDir: imageCacheDir(ctx.home),
      // services mode runs no node lifecycle controller: nothing lifts the not-ready taint kwok's nodes start with
      waitUntainted: ctx.config.cluster.mode !== 'services',
      logger: rt.logger,
      signal: rt.signal,
    });
  },
};
