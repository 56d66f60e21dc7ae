import { readFileSync } from 'node:fs';
import { defineCommand } from 'citty';
import { localClusterHome, requireKubeconfig } from '@local-cluster/core';
import { configFromArgs, settingArgs } from '../settings-args.js';

export default defineCommand({
  meta: { name: 'kubeconfig', description: "Print the cluster's admin kubeconfig (API server on the host port); --path prints where it is." },
  args: { path: { type: 'boolean', description: 'Print the file path instead of its content (export KUBECONFIG=$(local-cluster kubeconfig --path)).' }, ...settingArgs() },
  run({ args }) {
    const { config } = configFromArgs(args);
    const file = requireKubeconfig(localClusterHome(), config.cluster.name);
    process.stdout.write(args.path ? `${file}\n` : readFileSync(file, 'utf8'));
  },
});
