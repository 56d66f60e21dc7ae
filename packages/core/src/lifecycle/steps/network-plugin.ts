import type { Step, StepRuntime } from '../../engine/steps.js';
import type { Addon } from '../../contracts/addon.js';
import { LocalClusterError, isAbortedError, isLocalClusterError } from '../../errors.js';
import { pluginContext, type UpContext } from '../context.js';
import { awaitControlPlaneImages } from './images.js';
import { givesPodNetwork } from '../../plugins/no-cni.js';

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
    await awaitControlPlaneImages(ctx);
    if (!givesPodNetwork(cni)) {
      rt.logger.warn(`no CNI (cluster.cniPlugin "${cni.name}"): install one now, e.g. \`local-cluster kubectl apply -f YOUR-CNI.yaml\` (pod subnet ${ctx.podSubnet}); the nodes stay NotReady and pods get no network until then, and no addon was installed`);
    }
    if (cni.prepareNode) await pluginHook(owner, 'prepareNode', () => Promise.all(ctx.nodes.map((node) => cni.prepareNode!(pctx, node))));
    if (cni.install) await pluginHook(owner, 'install', () => cni.install!(pctx));
    if (cni.waitReady) await pluginHook(owner, 'waitReady', () => cni.waitReady!(pctx));
  },
};

/** Refuses addons that depend on addons not configured. */
function checkAddonDependencies(addons: readonly Addon[]): void {
  const names = new Set(addons.map((a) => a.name));
  const missing = addons.filter((a) => (a.dependsOn ?? []).some((d) => !names.has(d)));
  if (missing.length) {
    throw new Error(`addons ${missing.map((a) => a.name).join(', ')} depend on addons that are not configured (cluster.addons)`);
  }
}

/**
 * The addons `up` installs right after kubeadm init, while the other nodes join: those whose
 * `installAfter` is 'kubeadm-init', with every addon they depend on such too.
 */
export function earlyAddons(addons: readonly Addon[]): Addon[] {
  const byName = new Map(addons.map((a) => [a.name, a]));
  const early = (addon: Addon, path: readonly string[]): boolean =>
    addon.installAfter === 'kubeadm-init' &&
    (addon.dependsOn ?? []).every((d) => {
      const dep = byName.get(d);
      return dep !== undefined && !path.includes(d) && early(dep, [...path, d]);
    });
  return addons.filter((a) => early(a, [a.name]));
}

/**
 * Starts an addon's install (its `dependsOn` first) and keeps its promise in `started`, so an
 * addon started by an earlier step is not installed twice; a waitReady is waited for.
 */
function addonStarter(ctx: UpContext, rt: StepRuntime, started: Map<string, Promise<void>>): (addon: Addon) => Promise<void> {
  const addons = ctx.addons ?? [];
  const visiting = new Set<string>();
  const start = (addon: Addon): Promise<void> => {
    const existing = started.get(addon.name);
    if (existing) return existing;
    if (visiting.has(addon.name)) throw new Error(`addons depend on each other in a cycle through ${addon.name}`);
    visiting.add(addon.name);
    const deps = (addon.dependsOn ?? []).map((d) => start(addons.find((a) => a.name === d)!));
    const run = Promise.all(deps).then(async () => {
      const owner = `addon "${addon.name}"`;
      const pctx = pluginContext(ctx, rt.logger, rt.signal);
      rt.logger.info(`addon ${addon.name}`);
      await pluginHook(owner, 'install', () => addon.install(pctx));
      if (addon.waitReady) {
        await pluginHook(owner, 'waitReady', () => addon.waitReady!(pctx));
        rt.logger.info(`addon ${addon.name} ready`);
      } else rt.logger.info(`addon ${addon.name} installed (not waited for: it starts in the background)`);
    });
    started.set(addon.name, run);
    return run;
  };
  return start;
}

/**
 * Starts installing the addons that need only the API server (`installAfter: 'kubeadm-init'`:
 * the built-in ones, whose install creates objects and whose pods schedule once the nodes are
 * Ready), so that their install overlaps the joins. The addons step waits for them and reports
 * a failure.
 */
export const startAddons: Step<UpContext> = {
  name: 'start-addons',
  title: 'Start installing the addons that need only the API server',
  skip: (ctx) => earlyAddons(ctx.addons ?? []).length === 0,
  async run(ctx, rt) {
    checkAddonDependencies(ctx.addons ?? []);
    const started = (ctx.addonsStarted = new Map());
    const start = addonStarter(ctx, rt, started);
    const early = earlyAddons(ctx.addons ?? []);
    // the addons step awaits these and throws their failure
    for (const addon of early) start(addon).catch(() => undefined);
    rt.logger.info(`installing ${early.map((a) => a.name).join(', ')} while the other nodes join`);
  },
};

/**
 * Installs addons: each starts once the addons it depends on are ready, the others at
 * once, so their readiness waits overlap. An addon without waitReady (the built-in ones)
 * is not waited for: its pods start after `up` returns. Those the start-addons step started
 * are waited for here.
 */
export const installAddons: Step<UpContext> = {
  name: 'addons',
  title: 'Install addons',
  skip: (ctx) => (ctx.addons ?? []).length === 0,
  async run(ctx, rt) {
    const addons = ctx.addons ?? [];
    checkAddonDependencies(addons);
    await awaitControlPlaneImages(ctx);
    const start = addonStarter(ctx, rt, ctx.addonsStarted ?? new Map());
    const results = await Promise.allSettled(addons.map(start));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  },
};
