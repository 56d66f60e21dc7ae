import { readFileSync } from 'node:fs';
import { defineCommand } from 'citty';
import yaml from 'js-yaml';
import { API_SERVER_PORT, ConfigError, controlPlaneOf, localClusterHome, requireKubeconfig, runningNodes } from '@local-cluster/core';
import { configFromArgs, settingArgs } from '../settings-args.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

/** A kubeconfig's text with every cluster's server set to `server`. */
export function withServer(kubeconfig: string, server: string): string {
  const doc = yaml.load(kubeconfig) as { clusters?: { cluster?: { server?: string } }[] };
  for (const entry of doc.clusters ?? []) if (entry.cluster) entry.cluster.server = server;
  return yaml.dump(doc, { lineWidth: -1 });
}

export default defineCommand({
  meta: { name: 'kubeconfig', description: "Print the cluster's admin kubeconfig (API server on the host port); --internal for containers on the cluster's network; --path prints where it is." },
  args: {
    path: { type: 'boolean', description: 'Print the file path instead of its content (export KUBECONFIG=$(local-cluster kubeconfig --path)).' },
    internal: {
      type: 'boolean',
      description: "The kubeconfig for pods and containers on the cluster's network (another cluster's, a container run with --network): its server is the API server's address there (the load balancer's with several control planes), not the host port.",
    },
    ...settingArgs(),
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const name = loaded.config.cluster.name;
    const file = requireKubeconfig(localClusterHome(), name);
    if (!args.internal) {
      process.stdout.write(args.path ? `${file}\n` : readFileSync(file, 'utf8'));
      return;
    }
    if (args.path) throw new ConfigError('--internal and --path do not go together: the internal kubeconfig is printed, not kept in a file.', { source: { kind: 'flag', name: 'path' }, hint: 'Write it where you need it: local-cluster kubeconfig --internal > internal.conf' });
    const driver = createDriver(loaded);
    const { signal, dispose } = interruptSignal();
    try {
      const [lb] = await driver.listNodes({ cluster: name, role: 'load-balancer' }, { signal });
      const address = lb ? await lb.ip({ signal }) : await controlPlaneOf(await runningNodes(driver, name, signal)).ip({ signal });
      process.stdout.write(withServer(readFileSync(file, 'utf8'), `https://${address}:${API_SERVER_PORT}`));
    } finally {
      dispose();
    }
  },
});
