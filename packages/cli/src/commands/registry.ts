import { defineCommand } from 'citty';
import { imageCacheDir, localClusterHome, makeLogger } from '@local-cluster/core';
import { REGISTRY_CONTAINER, REGISTRY_CONTAINER_PORT, REGISTRY_VOLUME, registryStatus, removeRegistry, startRegistry } from '@local-cluster/addons';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

/** `local-cluster registry`: the local registry on the engine (cluster.registry): its state; start; rm. */
const show = defineCommand({
  meta: { name: 'registry', description: 'Show the local registry on the engine (cluster.registry): its container, state, host port and volume; `registry start` makes or starts it, `registry rm` removes it.' },
  args: { ...outputArgs },
  async run({ args }) {
    const driver = createDriver(configFromArgs({}));
    const { signal, dispose } = interruptSignal();
    try {
      const status = await registryStatus(driver, { signal });
      if (args.json) {
        process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        return;
      }
      const c = status.container;
      if (!c) {
        process.stdout.write(`No local registry on the engine${status.volumes.length ? ` (its volume ${status.volumes.join(', ')} is kept: \`registry start\` uses it again)` : ''}. Start one with \`local-cluster up --registry\` or \`local-cluster registry start\`.\n`);
        return;
      }
      const where = driver.location?.remote ? `127.0.0.1:${c.port ?? '?'} on the engine's machine (${driver.location.address})` : `localhost:${c.port ?? '?'}`;
      process.stdout.write(`${c.name}: ${c.state}, ${where}${c.image ? `, image ${c.image}` : ''}, data in volume ${status.volumes.join(', ') || '(none)'}\n`);
      if (c.port !== undefined) process.stdout.write(`Push: docker push localhost:${c.port}/IMAGE:TAG; manifests name localhost:${c.port}/IMAGE:TAG.\n`);
    } finally {
      dispose();
    }
  },
});

const start = defineCommand({
  meta: { name: 'start', description: 'Make or start the local registry on the engine (built by the image factory), on --registry-port; clusters attach to it at their next `up --registry`.' },
  args: { ...settingArgs(), ...outputArgs },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const driver = createDriver(loaded);
    const { signal, dispose } = interruptSignal();
    try {
      const render = progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose);
      const logger = makeLogger(render, () => 'registry');
      const node = await startRegistry(driver, loaded.config, { signal, logger, cacheDir: imageCacheDir(localClusterHome()) });
      const port = await node.hostPort(REGISTRY_CONTAINER_PORT, { signal });
      const published = port ?? loaded.config.cluster.registryPort;
      process.stdout.write(args.json ? JSON.stringify({ name: node.name, port: published }) + '\n' : `${node.name} is running: docker push localhost:${published}/IMAGE:TAG\n`);
    } finally {
      dispose();
    }
  },
});

const rm = defineCommand({
  meta: { name: 'rm', description: `Remove the local registry: its container and its volume (every image pushed to it); only objects carrying local-cluster's labels. Asks nothing.` },
  args: {},
  async run() {
    const driver = createDriver(configFromArgs({}));
    const { signal, dispose } = interruptSignal();
    try {
      const removed = await removeRegistry(driver, { signal });
      process.stdout.write(removed.containers + removed.volumes === 0 ? `No local registry to remove (${REGISTRY_CONTAINER}, volume ${REGISTRY_VOLUME}).\n` : `Removed ${removed.containers} container(s) and ${removed.volumes} volume(s) of the local registry.\n`);
    } finally {
      dispose();
    }
  },
});

export default defineCommand({ ...show, subCommands: { start, rm } });
