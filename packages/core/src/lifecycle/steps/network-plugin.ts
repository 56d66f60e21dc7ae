import type { Step } from '../../engine/steps.js';
import { pluginContext, type UpContext } from '../context.js';

/** Node-side CNI work on every node, then the CNI's cluster-side install. */
export const installCni: Step<UpContext> = {
  name: 'cni',
  title: 'Install the CNI plugin',
  async run(ctx, rt) {
    const pctx = pluginContext(ctx, rt.logger, rt.signal);
    const { cni } = ctx;
    rt.logger.info(`CNI ${cni.name}, pod subnet ${ctx.podSubnet}`);
    if (cni.prepareNode) await Promise.all(ctx.nodes.map((node) => cni.prepareNode!(pctx, node)));
    await cni.install?.(pctx);
  },
};

/** Installs addons in dependency order. */
export const installAddons: Step<UpContext> = {
  name: 'addons',
  title: 'Install addons',
  skip: (ctx) => (ctx.addons ?? []).length === 0,
  async run(ctx, rt) {
    const pctx = pluginContext(ctx, rt.logger, rt.signal);
    const pending = [...(ctx.addons ?? [])];
    const done = new Set<string>();
    while (pending.length > 0) {
      const index = pending.findIndex((a) => (a.dependsOn ?? []).every((d) => done.has(d)));
      if (index < 0) {
        throw new Error(`addons ${pending.map((a) => a.name).join(', ')} depend on addons that are not configured (cluster.addons)`);
      }
      const [addon] = pending.splice(index, 1);
      rt.logger.info(`addon ${addon!.name}`);
      await addon!.install(pctx);
      await addon!.waitReady?.(pctx);
      done.add(addon!.name);
    }
  },
};
