import { defineCommand } from 'citty';
import { connectClusters, makeLogger } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

export default defineCommand({
  meta: {
    name: 'connect',
    description:
      "Join two running clusters: each node is attached to the other cluster's network, so pods of either reach the other's API server, NodePorts and (with pod subnets that do not overlap) pod addresses. Lasts until either cluster goes down.",
  },
  args: {
    first: { type: 'positional', required: true, description: 'A cluster name.' },
    second: { type: 'positional', required: true, description: 'The other cluster name.' },
    ...settingArgs(),
    ...outputArgs,
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const render = progressRenderer(progressMode(Boolean(args.json)), loaded.config.verbose);
    const { signal, dispose } = interruptSignal();
    try {
      const result = await connectClusters({ driver: createDriver(loaded), clusters: [String(args.first), String(args.second)], logger: makeLogger(render, () => 'connect'), signal });
      if (args.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const [a, b] = result.clusters;
      process.stdout.write(`Clusters "${a.name}" and "${b.name}" are connected (${result.attached.length} node attachment(s)).\n`);
      for (const side of [a, b]) {
        process.stdout.write(`  ${side.name}: network ${side.network} (${side.subnet}), API server ${side.apiServer}, pod subnet ${side.podSubnet ?? 'unknown'}\n`);
      }
      process.stdout.write(
        result.podRoutesSkipped
          ? `  pod addresses are not routed: ${result.podRoutesSkipped}\n`
          : `  pod addresses routed: ${result.podRoutes.map((r) => `${r.cluster} -> ${r.cidr} via ${r.via}`).join(', ')}\n`,
      );
      process.stdout.write(`Pods of one reach the other's API server with its \`local-cluster kubeconfig --internal --name NAME\`, and its NodePorts at its nodes' addresses.\n`);
    } finally {
      dispose();
    }
  },
});
