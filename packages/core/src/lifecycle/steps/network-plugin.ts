import type { Step } from '../../engine/steps.js';
import { LocalClusterError, isAbortedError, isLocalClusterError } from '../../errors.js';
import { pluginContext, type UpContext } from '../context.js';

/** Runs a plugin hook; its failure names the plugin. */
export async function pluginHook<T>(owner: string, hook: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isAbortedError(error)) throw error;
    const message = (error as Error)?.message ?? String(error);
    throw new LocalClusterError(`${owner} failed in ${hook}(): ${message}`, {
      cause: error,
      ...(isLocalClusterError(error) && error.hint ? { hint: error.hint } : {}),
    });
  }
}

/** Node-side CNI work on every node, then the CNI's cluster-side install. */
export const installCni: Step<UpContext> = {
  name: 'cni',
  title: 'Install the CNI plugin',
  async run(ctx, rt) {
    const { cni } = ctx;
    const owner = `CNI plugin "${cni.name}"`;
    const pctx = pluginContext(ctx, rt.logger, rt.signal);
    rt.logger.info(`CNI ${cni.name}, pod subnet ${ctx.podSubnet}`);
    if (cni.prepareNode) await pluginHook(owner, 'prepareNode', () => Promise.all(ctx.nodes.map((node) => cni.prepareNode!(pctx, node))));
    if (cni.install) await pluginHook(owner, 'install', () => cni.install!(pctx));
    if (cni.waitReady) await pluginHook(owner, 'waitReady', () => cni.waitReady!(pctx));
  },
};

/** Installs addons in dependency order. */
export const installAddons: Step<UpContext> = {
  name: 'addons',
  title: 'Install addons',
  skip: (ctx) => (ctx.addons ?? []).length === 0,
  async run(ctx, rt) {
    const pending = [...(ctx.addons ?? [])];
    const done = new Set<string>();
    while (pending.length > 0) {
      const index = pending.findIndex((a) => (a.dependsOn ?? []).every((d) => done.has(d)));
      if (index < 0) {
        throw new Error(`addons ${pending.map((a) => a.name).join(', ')} depend on addons that are not configured (cluster.addons)`);
      }
      const [addon] = pending.splice(index, 1);
      const owner = `addon "${addon!.name}"`;
      const pctx = pluginContext(ctx, rt.logger, rt.signal);
      rt.logger.info(`addon ${addon!.name}`);
      await pluginHook(owner, 'install', () => addon!.install(pctx));
      if (addon!.waitReady) await pluginHook(owner, 'waitReady', () => addon!.waitReady!(pctx));
      done.add(addon!.name);
    }
  },
};
