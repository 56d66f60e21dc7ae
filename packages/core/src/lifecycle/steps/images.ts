import type { Step } from '../../engine/steps.js';
import { ensureImage, loadImagesIntoNodes } from '../../images/factory.js';
import type { UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';

/** Builds the images the CNI and addons declare that the engine lacks (image factory). */
export const buildImages: Step<UpContext> = {
  name: 'images',
  title: 'Ensure CNI and addon images',
  skip: (ctx) => ctx.images.length === 0,
  async run(ctx, rt) {
    for (const needed of ctx.images) {
      await ensureImage(needed, { driver: ctx.driver, cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal });
    }
  },
};

/** Loads those images into every node's containerd, before the CNI installs. */
export const loadImages: Step<UpContext> = {
  name: 'load-images',
  title: 'Load images into the nodes',
  skip: (ctx) => ctx.images.every((n) => n.image.loadIntoNodes === false),
  async run(ctx, rt) {
    const refs = [...new Set(ctx.images.filter((n) => n.image.loadIntoNodes !== false).map((n) => n.image.ref))];
    await loadImagesIntoNodes(ctx.driver, ctx.nodes, refs, { cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal });
  },
};
