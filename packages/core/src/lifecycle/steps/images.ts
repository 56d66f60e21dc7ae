import type { Step } from '../../engine/steps.js';
import { LocalClusterError } from '../../errors.js';
import { ensureImage, loadImagesIntoNodes } from '../../images/factory.js';
import type { UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';
import type { ImageRequirement } from '../../contracts/context.js';

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

/** The refs every node gets, and the refs only the control planes get (an image both ask for goes to every node). */
export function imagesByNodes(images: readonly ImageRequirement[]): { everyNode: string[]; controlPlanes: string[] } {
  const everyNode = [...new Set(images.filter((i) => i.loadIntoNodes === undefined || i.loadIntoNodes === true).map((i) => i.ref))];
  const controlPlanes = [...new Set(images.filter((i) => i.loadIntoNodes === 'control-planes').map((i) => i.ref))].filter((ref) => !everyNode.includes(ref));
  return { everyNode, controlPlanes };
}

/**
 * Loads the images every node needs (the CNI's) before kubeadm runs, and starts loading the ones
 * only the control planes run (the built-in addons'): that load goes on while kubeadm brings
 * the cluster up, and the CNI and addon steps wait for it (`awaitControlPlaneImages`).
 */
export const loadImages: Step<UpContext> = {
  name: 'load-images',
  title: 'Load images into the nodes',
  skip: (ctx) => ctx.images.every((n) => n.image.loadIntoNodes === false),
  async run(ctx, rt) {
    const { everyNode, controlPlanes } = imagesByNodes(ctx.images.map((n) => n.image));
    const options = { cacheDir: imageCacheDir(ctx.home), logger: rt.logger, signal: rt.signal };
    if (controlPlanes.length) {
      const targets = ctx.nodes.filter((n) => n.role === 'control-plane');
      const load = loadImagesIntoNodes(ctx.driver, targets, controlPlanes, options);
      // awaited by the CNI and addon steps; a failed run that never gets there must not leave it unhandled
      load.catch(() => undefined);
      ctx.controlPlaneImages = load;
      rt.logger.info(`loading ${controlPlanes.join(', ')} into ${targets.map((n) => n.hostname).join(', ')} while kubeadm runs`);
    }
    if (everyNode.length) await loadImagesIntoNodes(ctx.driver, ctx.nodes, everyNode, options);
  },
};

/** Waits for the control planes' image load that `loadImages` started (a failure names it). */
export async function awaitControlPlaneImages(ctx: UpContext): Promise<void> {
  if (!ctx.controlPlaneImages) return;
  try {
    await ctx.controlPlaneImages;
  } catch (error) {
    throw new LocalClusterError(`loading the addons' images into the control plane(s) failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
}
