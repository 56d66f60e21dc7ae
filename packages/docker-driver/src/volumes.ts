import { DriverError, LABELS, type CallOptions, type Selector, type VolumeInfo, type VolumeOps } from '@local-cluster/core';
import type Dockerode from 'dockerode';
import { call, callUnlessMissing, type DockerContext } from './api.js';
import { assertOwned, labelFilters, matchesSelector, ownedLabels } from './labels.js';

/** Named volumes, created and removed by ownership label. */

interface VolumeLike {
  Name: string;
  Labels?: Record<string, string> | null;
}

const toVolumeInfo = (volume: VolumeLike): VolumeInfo => ({ name: volume.Name, labels: volume.Labels ?? {} });

function inspectVolume(ctx: DockerContext, name: string, signal?: AbortSignal): Promise<VolumeLike | undefined> {
  return callUnlessMissing(ctx, `inspect volume ${name}`, signal, () =>
    ctx.docker.getVolume(name).inspect({ abortSignal: signal }) as Promise<VolumeLike>,
  );
}

/** Creates a volume with exactly these labels (callers add ownership labels). */
async function createVolume(ctx: DockerContext, name: string, labels: Record<string, string>, signal?: AbortSignal): Promise<VolumeInfo> {
  const operation = `create volume ${name}`;
  // The engine answers "created" for a name that already exists, keeping the old labels.
  await call(ctx, operation, signal, () => ctx.docker.createVolume({ Name: name, Labels: labels, abortSignal: signal }));
  const volume = await inspectVolume(ctx, name, signal);
  if (!volume) throw new DriverError(operation, 'the volume vanished right after it was created');
  if (!matchesSelector(volume.Labels, { labels })) {
    throw new DriverError(operation, 'a volume with this name already exists and is not this one', {
      hint: 'Choose another name, or remove that volume if it is a leftover.',
    });
  }
  return toVolumeInfo(volume);
}

/** Creates the named volume a node mounts when it is missing, labelled for the node's cluster. */
export async function ensureVolume(ctx: DockerContext, name: string, cluster: string | undefined, signal?: AbortSignal): Promise<void> {
  if (await inspectVolume(ctx, name, signal)) return;
  const labels = ownedLabels(cluster === undefined ? {} : { [LABELS.cluster]: cluster }, 'volume');
  await createVolume(ctx, name, labels, signal);
}

export async function listVolumes(ctx: DockerContext, selector: Selector, signal?: AbortSignal): Promise<VolumeInfo[]> {
  const result = await call(ctx, 'list volumes', signal, () =>
    ctx.docker.listVolumes({ filters: { label: labelFilters(selector) }, abortSignal: signal } as Dockerode.VolumeListOptions),
  );
  return (result.Volumes ?? []).map(toVolumeInfo);
}

export function volumeOps(ctx: DockerContext): VolumeOps {
  return {
    create(name, labels, options: CallOptions = {}) {
      return createVolume(ctx, name, ownedLabels(labels, 'volume'), options.signal);
    },

    list(selector, options: CallOptions = {}) {
      return listVolumes(ctx, selector, options.signal);
    },

    async remove(name, selector, options: CallOptions = {}) {
      const { signal } = options;
      const operation = `remove volume ${name}`;
      const volume = await inspectVolume(ctx, name, signal);
      if (!volume) return;
      assertOwned(operation, 'volume', volume.Labels, selector);
      await callUnlessMissing(ctx, operation, signal, () => ctx.docker.getVolume(name).remove({ abortSignal: signal }));
    },
  };
}
