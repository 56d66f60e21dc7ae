import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { exportLogs, makeLogger } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

const logs = defineCommand({
  meta: {
    name: 'logs',
    description:
      "Write everything a bug report needs into DIR (default ./local-cluster-logs-NAME-TIME): per node the container log, journal, kubelet and containerd logs, containers, images, network state and pod logs; the cluster's `kubectl cluster-info dump`.",
  },
  args: { dir: { type: 'positional', required: false, description: 'Directory to write into.' }, ...settingArgs(), ...outputArgs },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const name = loaded.config.cluster.name;
    const dir = resolve(args.dir ? String(args.dir) : `local-cluster-logs-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const render = progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose);
    const { signal, dispose } = interruptSignal();
    try {
      const result = await exportLogs({ driver: createDriver(loaded), cluster: name, dir, logger: makeLogger(render, () => 'export logs'), signal });
      if (args.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else process.stdout.write(`Logs of cluster "${name}" in ${result.dir}\n`);
    } finally {
      dispose();
    }
  },
});

export default defineCommand({
  meta: { name: 'export', description: 'Export from the cluster: `export logs [DIR]`.' },
  subCommands: { logs },
});
