import { defineCommand } from 'citty';
import { ensureImage, imageCacheDir, imageStatus, localClusterHome, makeLogger, neededImages, type ImageStatus, type NeededImage } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver, loadAddons, loadCni, nodeImage } from '../wiring.js';
import { interruptSignal } from '../signals.js';
import { printTable } from '../table.js';

const STATE_TEXT: Record<ImageStatus['state'], string> = {
  built: 'built',
  external: 'in engine (not built here)',
  stale: 'stale (recipe changed)',
  missing: 'not built',
  unavailable: 'MISSING (no recipe)',
};

export default defineCommand({
  meta: {
    name: 'images',
    description: 'List the images the config needs (node image, CNI, addons) and whether they are built; --build builds what is missing.',
  },
  args: {
    ...settingArgs(),
    ...outputArgs,
    build: { type: 'boolean', description: 'Build every image that is missing or stale (the image factory; nothing is pulled).' },
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const [cni, addons] = await Promise.all([loadCni(loaded), loadAddons(loaded)]);
    const driver = createDriver(loaded);
    const needed: NeededImage[] = [
      { image: { ...nodeImage(loaded.config, { baseDir: loaded.baseDir }), loadIntoNodes: false }, neededBy: 'node image' },
      ...neededImages(loaded.config, cni, addons),
    ];
    const { signal, dispose } = interruptSignal();
    try {
      if (args.build) {
        const render = progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose);
        const logger = makeLogger(render, () => 'images');
        const cacheDir = imageCacheDir(localClusterHome());
        for (const n of needed) {
          const started = performance.now();
          render({ type: 'step-start', step: 'images', title: `Image ${n.image.ref}`, at: Date.now() });
          await ensureImage(n, { driver, cacheDir, logger, signal });
          render({ type: 'step-end', step: 'images', title: `Image ${n.image.ref}`, ok: true, durationMs: performance.now() - started });
        }
      }
      const statuses = await Promise.all(needed.map((n) => imageStatus(driver, n, signal)));
      if (args.json) {
        process.stdout.write(JSON.stringify(statuses, null, 2) + '\n');
        return;
      }
      printTable(
        ['IMAGE', 'NEEDED BY', 'STATE', 'SIZE'],
        statuses.map((s) => [s.ref, s.neededBy ?? '', STATE_TEXT[s.state], s.size ? `${(s.size / 1e6).toFixed(1)} MB` : '-']),
      );
      const todo = statuses.filter((s) => s.state === 'missing' || s.state === 'stale').length;
      if (todo && !args.build) process.stdout.write(`\n${todo} image(s) to build: run \`local-cluster images --build\` (or \`up\`, which builds them).\n`);
      if (statuses.some((s) => s.state === 'unavailable')) process.exitCode = 1;
    } finally {
      dispose();
    }
  },
});
