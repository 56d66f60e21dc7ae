import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { networkName, ownerLabels } from '../naming.js';
import { LABELS } from '../../contracts/driver.js';
import { hasIpv6, ipv6Ranges } from '../../config/ip-family.js';
import { sharedNetworkSelector, sharedRangeFor } from '../shared-network.js';

/**
 * The cluster's own Docker network on dind.subnet; nodes resolve each other by name on it. With
 * dind.network, the shared network instead (made by the first cluster on it, spanning the /16
 * around its block; preflight checked the blocks).
 */
export const network: Step<UpContext> = {
  name: 'network',
  title: 'Create the cluster network',
  async run(ctx, rt) {
    const shared = ctx.config.dind.network;
    if (shared) {
      const selector = sharedNetworkSelector(shared);
      const existing = (await ctx.driver.listNetworks(selector, rt)).find((n) => n.name === shared);
      if (existing) rt.logger.info(`on shared network ${shared} (${existing.subnets.join(', ')}), address block ${ctx.config.dind.subnet}`);
      else {
        const range = sharedRangeFor(ctx.config.dind.subnet);
        await ctx.driver.createNetwork({ name: shared, subnet: range, labels: { [LABELS.managed]: 'true', [LABELS.role]: 'network', [LABELS.sharedNetwork]: shared } }, rt);
        rt.logger.info(`made shared network ${shared} (${range}), address block ${ctx.config.dind.subnet}`);
        // removed on rollback only while no other cluster joined it
        rt.onRollback(`network ${shared}`, () => ctx.driver.removeNetwork(shared, selector).catch(() => undefined));
      }
      ctx.networkName = shared;
      return;
    }
    const cluster = ctx.config.cluster.name;
    const name = networkName(cluster);
    const selector = { cluster, role: 'network' as const };
    const existing = (await ctx.driver.listNetworks(selector, rt)).find((n) => n.name === name);
    const subnet6 = hasIpv6(ctx.config) ? ipv6Ranges(ctx.config).node : undefined;
    const wanted = [ctx.config.dind.subnet, ...(subnet6 ? [subnet6] : [])];
    if (existing && wanted.every((s) => existing.subnets.includes(s)) && existing.subnets.length === wanted.length) {
      rt.logger.info(`reusing network ${name} (${ctx.config.dind.subnet})`);
    } else {
      if (existing) await ctx.driver.removeNetwork(name, selector, rt);
      await ctx.driver.createNetwork({ name, subnet: ctx.config.dind.subnet, ...(subnet6 ? { subnet6 } : {}), labels: ownerLabels(cluster, 'network') }, rt);
      rt.onRollback(`network ${name}`, () => ctx.driver.removeNetwork(name, selector));
    }
    ctx.networkName = name;
  },
};
