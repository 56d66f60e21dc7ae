import { join } from 'node:path';
import type { Addon } from '../contracts/addon.js';
import type { CniPlugin } from '../contracts/cni.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { NeededImage } from '../images/factory.js';

/** Every image the cluster's plugins declare, with who declared it (the node image apart). */
export function neededImages(config: ResolvedConfig, cni: CniPlugin, addons: readonly Addon[] = []): NeededImage[] {
  return [
    ...(cni.images?.(config) ?? []).map((image) => ({ image, neededBy: `CNI plugin "${cni.name}"` })),
    ...addons.flatMap((addon) => (addon.images?.(config) ?? []).map((image) => ({ image, neededBy: `addon "${addon.name}"` }))),
  ];
}

/** The image factory's cache under the tool's home. */
export function imageCacheDir(home: string): string {
  return join(home, 'cache', 'images');
}
