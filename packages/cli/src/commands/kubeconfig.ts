import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { clusterDir, LocalClusterError, localClusterHome } from '@local-cluster/core';
import { configFromArgs, settingArgs } from '../settings-args.js';

export default defineCommand({
  meta: { name: 'kubeconfig', description: "Print the cluster's admin kubeconfig (API server on the host port); --path prints where it is." },
  args: { path: { type: 'boolean', description: 'Print the file path instead of its content (export KUBECONFIG=$(local-cluster kubeconfig --path)).' }, ...settingArgs() },
  run({ args }) {
    const { config } = configFromArgs(args);
    const file = join(clusterDir(localClusterHome(), config.cluster.name), 'admin.conf');
    if (!existsSync(file)) {
      const name = config.cluster.name;
      throw new LocalClusterError(`Cluster "${name}" has no kubeconfig (${file}).`, { hint: `Run \`local-cluster up${name === 'local' ? '' : ` --name ${name}`}\` first.` });
    }
    process.stdout.write(args.path ? `${file}\n` : readFileSync(file, 'utf8'));
  },
});
