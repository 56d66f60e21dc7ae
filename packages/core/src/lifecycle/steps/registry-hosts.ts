import type { Step } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { configuredRegistryHosts, writeRegistryHosts } from '../registry-hosts.js';

/** cluster.registries on every node: containerd's hosts.toml per registry name (mirrors, CA, plain http, credentials). */
export const registryHosts: Step<UpContext> = {
  name: 'registry-hosts',
  title: "Write the nodes' registry settings",
  skip: (ctx) => Object.keys(ctx.config.cluster.registries.mirrors).length === 0 || ctx.config.cluster.mode === 'services',
  async run(ctx, rt) {
    const entries = configuredRegistryHosts(ctx.config);
    await writeRegistryHosts(ctx.nodes, entries, rt);
    rt.logger.info(`registry settings for ${entries.map((e) => e.registry).join(', ')} on ${ctx.nodes.length} node(s)`);
  },
};
