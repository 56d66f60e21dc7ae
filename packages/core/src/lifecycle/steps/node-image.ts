import { join } from 'node:path';
import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';

/** Builds the node image (and the images it preloads) unless the exact same build exists. */
export const nodeImage: Step<UpContext> = {
  name: 'node-image',
  title: 'Ensure the node image',
  async run(ctx, rt) {
    const { driver } = ctx;
    if (!ctx.rebuild && (await driver.images.has(ctx.nodeImage.ref, rt))) {
      rt.logger.info(`node image ${ctx.nodeImage.ref} is cached`);
      return;
    }
    rt.logger.info(`building node image ${ctx.nodeImage.ref}`);
    await ctx.nodeImage.build!({
      driver,
      logger: rt.logger,
      signal: rt.signal,
      cacheDir: join(ctx.home, 'cache'),
      labels: { 'dev.local-cluster.managed': 'true', 'dev.local-cluster.role': 'image' },
    });
  },
};
