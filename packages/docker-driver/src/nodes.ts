import { removeThawing } from './thaw.js';
import {
  DriverError,
  LABELS,
  throwIfAborted,
  type CallOptions,
  type NodeHandle,
  type NodeSpec,
  type Selector,
} from '@local-cluster/core';
import { call, callUnlessMissing, quietly, type DockerContext } from './api.js';
import { containerCreateOptions } from './container-spec.js';
import type { SecurityMode } from './info.js';
import { assertOwned, labelFilters, ownedLabels } from './labels.js';
import { DockerNode } from './node.js';
import { ensureVolume } from './volumes.js';

/** Node containers: create, find by label, remove. */

async function inspectNode(ctx: DockerContext, id: string, signal?: AbortSignal): Promise<DockerNode | undefined> {
  const info = await callUnlessMissing(ctx, `inspect container ${id}`, signal, () =>
    ctx.docker.getContainer(id).inspect({ abortSignal: signal }),
  );
  return info && new DockerNode(ctx, info);
}

/**
 * Creates and starts a node container. Create and start requests are not cut
 * off half-way (the engine would finish them unseen); the signal is checked
 * around them, and a container created before an abort is removed.
 */
export async function createNode(
  ctx: DockerContext,
  securityMode: (signal?: AbortSignal) => Promise<SecurityMode>,
  spec: NodeSpec,
  options: CallOptions = {},
): Promise<NodeHandle> {
  const { signal } = options;
  const operation = `create node ${spec.name}`;
  throwIfAborted(signal, operation);
  const labels = ownedLabels(spec.labels, 'node');
  const security = spec.privileged ? await securityMode(signal) : undefined;
  for (const mount of spec.mounts ?? []) {
    if (mount.type === 'volume' && mount.source) await ensureVolume(ctx, mount.source, labels[LABELS.cluster], signal);
  }
  const createOptions = containerCreateOptions(spec, labels, security);
  const container = await call(ctx, operation, signal, () => ctx.docker.createContainer(createOptions));
  try {
    await call(ctx, `start node ${spec.name}`, signal, () => container.start());
    throwIfAborted(signal, operation);
    const node = await inspectNode(ctx, container.id, signal);
    if (!node) throw new DriverError(operation, 'the container vanished right after it started');
    return node;
  } catch (error) {
    await quietly(() => container.remove({ force: true, v: true }));
    throw error;
  }
}

/** The labels of the container or volume of that name, whoever made it; undefined when there is none. */
export async function labelsOf(ctx: DockerContext, kind: 'container' | 'volume', name: string, options: CallOptions = {}): Promise<Record<string, string> | undefined> {
  const { signal } = options;
  if (kind === 'container') {
    const info = await callUnlessMissing(ctx, `inspect container ${name}`, signal, () => ctx.docker.getContainer(name).inspect({ abortSignal: signal }));
    return info ? (info.Config.Labels ?? {}) : undefined;
  }
  const volume = await callUnlessMissing(ctx, `inspect volume ${name}`, signal, () => ctx.docker.getVolume(name).inspect({ abortSignal: signal }) as Promise<{ Labels?: Record<string, string> | null }>);
  return volume ? (volume.Labels ?? {}) : undefined;
}

/** Node containers carrying the selector's labels (role defaults to node), sorted by name. */
export async function listNodes(ctx: DockerContext, selector: Selector, options: CallOptions = {}): Promise<DockerNode[]> {
  const { signal } = options;
  const containers = await call(ctx, 'list nodes', signal, () =>
    ctx.docker.listContainers({ all: true, filters: { label: labelFilters(selector, 'node') }, abortSignal: signal }),
  );
  const nodes = await Promise.all(containers.map((c) => inspectNode(ctx, c.Id, signal)));
  return nodes.filter((n): n is DockerNode => n !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

/** The roles of the containers createNode makes: nodes, the satellites beside them, and the local registry. */
export const CONTAINER_ROLES = ['node', 'load-balancer', 'hollow-nodes', 'fake-nodes', 'node-e2e', 'registry'] as const;

/**
 * Whether a container is one createNode made: managed=true alone proves little (containers
 * inherit their image's labels, and our images carry it), so its role must be a container's.
 */
export function isOurContainer(labels: Readonly<Record<string, string>> | null | undefined): boolean {
  return labels?.[LABELS.managed] === 'true' && CONTAINER_ROLES.some((r) => r === labels[LABELS.role]);
}

/** Force-removes node containers with their anonymous volumes; refuses containers not created by local-cluster. */
export async function removeNodes(ctx: DockerContext, nodes: readonly NodeHandle[], options: CallOptions = {}): Promise<void> {
  const { signal } = options;
  await Promise.all(
    nodes.map(async (handle) => {
      const operation = `remove node ${handle.name}`;
      const current = await inspectNode(ctx, handle.id, signal);
      if (!current) return;
      // Containers inherit their image's labels, so managed=true alone proves
      // little: a node also carries role=node (or a satellite's role), which createNode always sets.
      const role = CONTAINER_ROLES.find((r) => r === current.labels[LABELS.role]) ?? 'node';
      assertOwned(operation, 'container', current.labels, { role });
      // a frozen cgroup inside the node (its nested runc, interrupted) makes it unkillable: thaw
      // first, and again if the kill still found one
      await removeThawing(current.id, () => callUnlessMissing(ctx, operation, signal, () => ctx.docker.getContainer(handle.id).remove({ force: true, v: true })));
    }),
  );
}
