import { defineCommand } from 'citty';
import { imageCacheDir, loadArchive, loadImages, localClusterHome, makeLogger } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

/** Shared set-up of the load subcommands: config, driver, logger, Ctrl-C. */
async function withCluster(args: Record<string, unknown>, action: string, run: (o: Parameters<typeof loadArchive>[1]) => Promise<void>): Promise<void> {
  const loaded = configFromArgs(args);
  const render = progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose);
  const { signal, dispose } = interruptSignal();
  try {
    await run({ driver: createDriver(loaded), cluster: loaded.config.cluster.name, logger: makeLogger(render, () => action), signal });
  } finally {
    dispose();
  }
}

const image = defineCommand({
  meta: { name: 'image', description: 'Load images from the Docker engine into every node (like `kind load docker-image`); pods run them with imagePullPolicy Never or IfNotPresent.' },
  args: { images: { type: 'positional', required: true, description: 'IMAGE [IMAGE...] as the engine names them, e.g. my-app:dev' }, ...settingArgs(), ...outputArgs },
  async run({ args }) {
    const refs = (args._ as string[]).filter(Boolean);
    await withCluster(args, 'load image', (o) => loadImages(refs, { ...o, cacheDir: imageCacheDir(localClusterHome()) }));
  },
});

const archive = defineCommand({
  meta: { name: 'archive', description: 'Import an image archive (`docker save` or OCI tar) into every node.' },
  args: { file: { type: 'positional', required: true, description: 'The archive file.' }, ...settingArgs(), ...outputArgs },
  async run({ args }) {
    await withCluster(args, 'load archive', (o) => loadArchive(String(args.file), o));
  },
});

export default defineCommand({
  meta: { name: 'load', description: 'Load images into every node of the cluster: `load image IMAGE...`, `load archive FILE`.' },
  subCommands: { image, archive },
});
