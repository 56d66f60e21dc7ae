import { LABELS, type CallOptions, type ClusterSummary } from '@local-cluster/core';
import type Dockerode from 'dockerode';
import { call, type DockerContext } from './api.js';
import { labelFilters } from './labels.js';
import { listNodes } from './nodes.js';
import { listVolumes } from './volumes.js';

/** Clusters exist only as labels: group every managed object by its cluster label. */

export async function listClusters(ctx: DockerContext, options: CallOptions = {}): Promise<ClusterSummary[]> {
  const { signal } = options;
  const [nodes, networks, volumes, snapshots] = await Promise.all([
    listNodes(ctx, {}, { signal }),
    call(ctx, 'list networks', signal, () =>
      ctx.docker.listNetworks({ filters: { label: labelFilters({}) }, abortSignal: signal } as Dockerode.NetworkListOptions),
    ),
    listVolumes(ctx, {}, signal),
    call(ctx, 'list images', signal, () =>
      ctx.docker.listImages({ filters: { label: labelFilters({ role: 'snapshot' }) }, abortSignal: signal }),
    ),
  ]);

  const clusters = new Map<string, ClusterSummary>();
  const summary = (name: string | undefined): ClusterSummary | undefined => {
    if (!name) return undefined;
    let entry = clusters.get(name);
    if (!entry) {
      entry = { name, nodes: [], networks: [], volumes: 0, snapshots: 0 };
      clusters.set(name, entry);
    }
    return entry;
  };

  for (const node of nodes) {
    summary(node.cluster)?.nodes.push({ name: node.name, hostname: node.hostname, role: node.role, state: node.observedState });
  }
  for (const network of networks) summary(network.Labels?.[LABELS.cluster])?.networks.push(network.Name);
  for (const volume of volumes) {
    const entry = summary(volume.labels[LABELS.cluster]);
    if (entry) entry.volumes++;
  }
  for (const image of snapshots) {
    const entry = summary(image.Labels?.[LABELS.cluster]);
    if (entry) entry.snapshots++;
  }
  return [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
}
