import { defineCommand } from 'citty';
import { localClusterHome, up } from '@local-cluster/core';
import { clusterKubectl, linkKubectl } from './kubectl.js';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { wireUp } from '../wiring.js';
import { interruptSignal } from '../signals.js';

function upCommand(name: 'up' | 'reup', description: string) {
  return defineCommand({
    meta: { name, description },
    args: {
      ...settingArgs(),
      ...outputArgs,
      retain: { type: 'boolean', description: 'Keep what a failed run created, for debugging.' },
    },
    async run({ args }) {
      const given = configFromArgs(args);
      const render = progressRenderer(progressMode(Boolean(args.json)), given.config.verbose);
      const { loaded, ...wired } = await wireUp(given, render);
      const { signal, dispose } = interruptSignal();
      try {
        const cluster = await up({
          config: loaded.config,
          ...wired,
          signal,
          retain: Boolean(args.retain),
          rebuild: name === 'reup',
          onEvent: render,
        });
        // ~/.local-cluster/kubectl: the kubectl of the cluster last brought up (alias kubectl=...)
        await clusterKubectl(localClusterHome(), cluster.nodes, signal)
          .then((path) => linkKubectl(localClusterHome(), path))
          .catch(() => undefined);
        if (args.json) process.stdout.write(JSON.stringify(cluster.summary()) + '\n');
        else process.stdout.write(cluster.describe() + '\n');
      } finally {
        dispose();
      }
    },
  });
}

export const upCmd = upCommand('up', 'Bring up a cluster (reusing its snapshot when the config did not change).');
export const reupCmd = upCommand('reup', 'Rebuild changed binaries and images, then bring the cluster up again.');
