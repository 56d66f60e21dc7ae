import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { networkName, ownerLabels } from '../naming.js';

/** The cluster's own Docker network on dind.subnet; nodes resolve each other by name on it. */
export const network: Step<UpContext> = {
  name: 'network',
  title: 'Create the cluster network',
  async run(ctx, rt) {
    const cluster = ctx.config.cluster.name;
    const name = networkName(cluster);
    const selector = { cluster, role: 'network' as const };
    const existing = (await ctx.driver.listNetworks(selector, rt)).find((n) => n.name === name);
    if (existing?.subnets.includes(ctx.config.dind.subnet)) {
      rt.logger.info(`reusing network ${name} (${ctx.config.dind.subnet})`);
    } else {
      if (existing) await ctx.driver.removeNetwork(name, selector, rt);
      await ctx.driver.createNetwork({ name, subnet: ctx.config.dind.subnet, labels: ownerLabels(cluster, 'network') }, rt);
      rt.onRollback(`network ${name}`, () => ctx.driver.removeNetwork(name, selector));
    }
    ctx.networkName = name;
  },
};
