import type { Step } from '../../engine/steps.js';
import { ensureImage } from '../../images/factory.js';
import type { UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';

/**
 * The node image, through the image factory like every other image: an image of
 * that name already in the engine is used, else its build runs (content-addressed,
 * so a changed recipe is a new name). `reup` runs the build again.
 */
export const nodeImage: Step<UpContext> = {
  name: 'node-image',
  title: 'Ensure the node image',
  async run(ctx, rt) {
    const status = await ensureImage(
      { image: { ...ctx.nodeImage, loadIntoNodes: false }, neededBy: 'the nodes' },
      { driver: ctx.driver, cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal, ...(ctx.rebuild ? { rebuild: true } : {}) },
    );
    if (status.state !== 'missing' && !ctx.rebuild) rt.logger.info(`node image ${ctx.nodeImage.ref} is cached`);
  },
};
