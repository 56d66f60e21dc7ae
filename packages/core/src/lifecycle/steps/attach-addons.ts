import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';
import { networkName } from '../naming.js';
import { attachedAddress } from '../node-plan.js';

/**
 * What addons keep on the engine beside the cluster (the local registry, shared by clusters):
 * made or started and attached to the cluster's network at every `up`, restore included.
 */
export const attachAddons: Step<UpContext> = {
  name: 'attach-addons',
  title: 'Attach what addons keep on the engine',
  skip: (ctx) => !(ctx.addons ?? []).some((a) => a.attach),
  async run(ctx, rt) {
    // a resumed cluster (its stopped nodes started again) kept its network
    const network = ctx.networkName ?? networkName(ctx.config.cluster.name);
    for (const addon of ctx.addons ?? []) {
      await addon.attach?.({ config: ctx.config, driver: ctx.driver, logger: rt.logger, signal: rt.signal, cacheDir: imageCacheDir(ctx.home), network, address: attachedAddress(ctx.config) });
    }
  },
};
