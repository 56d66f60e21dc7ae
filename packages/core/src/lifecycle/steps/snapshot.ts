import { LABELS } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { CONTROL_PLANE_HOSTNAME, ownerLabels, snapshotRef, varVolumeName, workerHostname } from '../naming.js';

export function hostnames(numNodes: number): string[] {
  return [CONTROL_PLANE_HOSTNAME, ...Array.from({ length: numNodes }, (_, i) => workerHostname(i + 1))];
}

/**
 * A usable snapshot: every node's committed image and /var volume, made from
 * the same config. `stale` when some of it exists but does not match.
 */
export async function snapshotState(ctx: UpContext, rt: StepRuntime): Promise<'usable' | 'stale' | 'none'> {
  const cluster = ctx.config.cluster.name;
  const images = await ctx.driver.images.list({ cluster, role: 'snapshot' }, rt);
  const volumes = await ctx.driver.volumes.list({ cluster, role: 'volume' }, rt);
  if (images.length === 0 && volumes.length === 0) return 'none';
  const usable = hostnames(ctx.config.cluster.numNodes).every(
    (host) =>
      images.some((i) => i.tags.includes(snapshotRef(cluster, host)) && i.labels[LABELS.configHash] === ctx.configHash) &&
      volumes.some((v) => v.name === varVolumeName(cluster, host)),
  );
  return usable ? 'usable' : 'stale';
}

/** A snapshot made from another config is removed (images and /var volumes), as the proposal says. */
export const discardStaleSnapshot: Step<UpContext> = {
  name: 'discard-snapshot',
  title: 'Discard the outdated snapshot',
  async run(ctx, rt) {
    const cluster = ctx.config.cluster.name;
    if (ctx.restore || (await snapshotState(ctx, rt)) === 'none') return;
    for (const image of await ctx.driver.images.list({ cluster, role: 'snapshot' }, rt)) {
      await ctx.driver.images.remove(image.id, { cluster, role: 'snapshot' }, rt);
    }
    for (const volume of await ctx.driver.volumes.list({ cluster, role: 'volume' }, rt)) {
      await ctx.driver.volumes.remove(volume.name, { cluster, role: 'volume' }, rt);
    }
    rt.logger.info('the config changed since the snapshot was taken: made a new cluster');
  },
};

/** Commits every node (its /var is a kept volume) so the next `up` after `down` restores it. */
export const takeSnapshot: Step<UpContext> = {
  name: 'snapshot',
  title: 'Take a snapshot',
  skip: (ctx) => ctx.restore,
  async run(ctx, rt) {
    const cluster = ctx.config.cluster.name;
    await Promise.all(
      ctx.nodes.map((node) =>
        ctx.driver.images.commit(node, snapshotRef(cluster, node.hostname), { ...ownerLabels(cluster, 'snapshot'), [LABELS.configHash]: ctx.configHash }, rt),
      ),
    );
  },
};
