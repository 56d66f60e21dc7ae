import { LABELS } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import type { UpContext } from '../context.js';
import { removeSnapshotImages, removeVolumes } from '../teardown.js';
import { ownerLabels, snapshotRef, varVolumeName } from '../naming.js';
import { sharedNetworkLabels } from '../shared-network.js';


/** Whether every node's committed image and /var volume exist, made from the same config. */
export async function hasUsableSnapshot(ctx: UpContext, rt: StepRuntime): Promise<boolean> {
  const cluster = ctx.config.cluster.name;
  const images = await ctx.driver.images.list({ cluster, role: 'snapshot' }, rt);
  const volumes = await ctx.driver.volumes.list({ cluster, role: 'volume' }, rt);
  return ctx.plan.nodes.map((n) => n.hostname).every(
    (host) =>
      images.some((i) => i.tags.includes(snapshotRef(cluster, host)) && i.labels[LABELS.configHash] === ctx.configHash) &&
      volumes.some((v) => v.name === varVolumeName(cluster, host)),
  );
}

/** A snapshot made from another config is removed (images and /var volumes), as the proposal says. */
export const discardStaleSnapshot: Step<UpContext> = {
  name: 'discard-snapshot',
  title: 'Discard the outdated snapshot',
  // runs only when preflight found no usable snapshot (a restore skips it): whatever is left is stale
  async run(ctx, rt) {
    const cluster = ctx.config.cluster.name;
    const removed =
      (await removeSnapshotImages(ctx.driver, cluster, rt)) + (await removeVolumes(ctx.driver, { cluster, role: 'volume' }, rt));
    if (removed > 0) rt.logger.info('the config changed since the snapshot was taken: made a new cluster');
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
        ctx.driver.images.commit(node, snapshotRef(cluster, node.hostname), { ...ownerLabels(cluster, 'snapshot'), [LABELS.configHash]: ctx.configHash, ...sharedNetworkLabels(ctx.config) }, rt),
      ),
    );
  },
};
