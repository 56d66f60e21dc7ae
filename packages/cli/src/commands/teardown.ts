import { defineCommand } from 'citty';
import { clean, down, type TeardownResult } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

function teardownCommand(name: 'down' | 'clean', description: string, action: typeof down) {
  return defineCommand({
    meta: { name, description },
    args: { ...settingArgs(), ...outputArgs },
    async run({ args }) {
      const loaded = configFromArgs(args);
      const driver = createDriver(loaded);
      const { signal, dispose } = interruptSignal();
      try {
        const result: TeardownResult = await action({
          driver,
          cluster: loaded.config.cluster.name,
          signal,
          onEvent: progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose),
        });
        if (args.json) process.stdout.write(JSON.stringify({ cluster: loaded.config.cluster.name, removed: result }) + '\n');
        else
          process.stdout.write(
            `Cluster "${loaded.config.cluster.name}": removed ${result.containers} container(s)` +
              (name === 'clean' ? `, ${result.networks} network(s), ${result.volumes} volume(s), ${result.images} image(s)` : '') +
              '.\n',
          );
      } finally {
        dispose();
      }
    },
  });
}

export const downCommand = teardownCommand('down', 'Remove the node containers; keep the snapshot for a fast `up`.', down);
export const cleanCommand = teardownCommand(
  'clean',
  'Remove everything this cluster owns: nodes, network, volumes, snapshots and images.',
  clean,
);
