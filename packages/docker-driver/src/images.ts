import type { Readable } from 'node:stream';
import {
  DriverError,
  type CallOptions,
  type ImageInfo,
  type ImageOps,
  type NodeHandle,
  type Selector,
} from '@local-cluster/core';
import { call, callUnlessMissing, quietly, type DockerContext } from './api.js';
import { assertOwned, labelFilters, ownedLabels } from './labels.js';
import { readAll } from './streams.js';

/** Splits `name[:tag]` (the name may hold a registry port) into repo and tag. */
export function parseImageRef(ref: string): { repo: string; tag: string } {
  if (ref.includes('@')) throw new DriverError('parse image reference', `"${ref}": digests cannot be used as a target name`);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

/** A Dockerfile word in double quotes; `$` is escaped because the engine expands variables. */
function quote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

export interface ImageConfig {
  labels: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  stopSignal?: string;
  workdir?: string;
}

/**
 * The `changes` (Dockerfile instructions) an import or commit applies.
 * STOPSIGNAL is not among them: engines before 23 refuse it as a change.
 */
export function imageChanges(config: Omit<ImageConfig, 'stopSignal'>): string[] {
  const changes: string[] = [];
  if (config.entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.entrypoint)}`);
  if (config.cmd) changes.push(`CMD ${JSON.stringify(config.cmd)}`);
  for (const [key, value] of Object.entries(config.env ?? {})) changes.push(`ENV ${key}=${quote(value)}`);
  for (const [key, value] of Object.entries(config.labels)) changes.push(`LABEL ${quote(key)}=${quote(value)}`);
  if (config.workdir) changes.push(`WORKDIR ${config.workdir}`);
  return changes;
}

interface ProgressMessage {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The engine reports failures inside a 200 response's JSON lines; find them. */
export function progressError(body: string): string | undefined {
  for (const line of body.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let message: ProgressMessage;
    try {
      message = JSON.parse(line) as ProgressMessage;
    } catch {
      continue;
    }
    if (message.error || message.errorDetail) return message.errorDetail?.message ?? message.error;
  }
  return undefined;
}

interface ImageInspectLike {
  Id: string;
  RepoTags?: string[] | null;
  Size?: number;
  Config?: { Labels?: Record<string, string> | null } | null;
}

function fromInspect(image: ImageInspectLike): ImageInfo {
  return { id: image.Id, tags: image.RepoTags ?? [], labels: image.Config?.Labels ?? {}, size: image.Size ?? 0 };
}

export async function inspectImage(ctx: DockerContext, ref: string, signal?: AbortSignal): Promise<ImageInfo | undefined> {
  const image = await callUnlessMissing(ctx, `inspect image ${ref}`, signal, () =>
    ctx.docker.getImage(ref).inspect({ abortSignal: signal } as object) as Promise<ImageInspectLike>,
  );
  return image && fromInspect(image);
}

async function mustInspect(ctx: DockerContext, ref: string, operation: string, signal?: AbortSignal): Promise<ImageInfo> {
  const info = await inspectImage(ctx, ref, signal);
  if (!info) throw new DriverError(operation, `image ${ref} is missing right after it was written`);
  return info;
}

/** `docker import`: labels are applied as given (callers add ownership labels). */
export async function importTar(
  ctx: DockerContext,
  tar: Readable,
  ref: string,
  config: ImageConfig,
  signal?: AbortSignal,
): Promise<ImageInfo> {
  const operation = `import image ${ref}`;
  const { repo, tag } = parseImageRef(ref);
  const response = await call(ctx, operation, signal, () =>
    ctx.docker.importImage(tar, { repo, tag, changes: imageChanges(config), abortSignal: signal }),
  );
  const body = await call(ctx, operation, signal, async () => (await readAll(response as Readable)).toString('utf8'));
  const failure = progressError(body);
  if (failure) throw new DriverError(operation, failure);
  if (config.stopSignal) await setStopSignal(ctx, ref, config.stopSignal, signal);
  return mustInspect(ctx, ref, operation, signal);
}

/**
 * Sets an image's stop signal the way every engine version accepts: a
 * container created (never started) with it, committed over the same tag.
 * The commit adds an empty layer.
 */
async function setStopSignal(ctx: DockerContext, ref: string, stopSignal: string, signal?: AbortSignal): Promise<void> {
  const operation = `set the stop signal of image ${ref}`;
  const { repo, tag } = parseImageRef(ref);
  const container = await call(ctx, operation, signal, () => ctx.docker.createContainer({ Image: ref, StopSignal: stopSignal }));
  try {
    await call(ctx, operation, signal, () => container.commit({ repo, tag, pause: false, abortSignal: signal }));
  } finally {
    await quietly(() => container.remove({ force: true, v: true }));
  }
}

export function imageOps(ctx: DockerContext): ImageOps {
  return {
    async has(ref, options: CallOptions = {}) {
      return (await inspectImage(ctx, ref, options.signal)) !== undefined;
    },

    inspect(ref, options: CallOptions = {}) {
      return inspectImage(ctx, ref, options.signal);
    },

    importRootfs(tar, ref, config, options: CallOptions = {}) {
      return importTar(ctx, tar, ref, { ...config, labels: ownedLabels(config.labels, 'image') }, options.signal);
    },

    async load(tar, options: CallOptions = {}) {
      const { signal } = options;
      const operation = 'load image archive';
      const response = await call(ctx, operation, signal, () => ctx.docker.loadImage(tar, { quiet: true, abortSignal: signal } as object));
      const body = await call(ctx, operation, signal, async () => (await readAll(response as Readable)).toString('utf8'));
      const failure = progressError(body);
      if (failure) throw new DriverError(operation, failure);
    },

    async push(ref, target, options: CallOptions = {}) {
      const { signal } = options;
      const operation = `push ${ref} as ${target}`;
      const { repo, tag } = parseImageRef(target);
      await call(ctx, operation, signal, () => ctx.docker.getImage(ref).tag({ repo, tag }));
      const response = await call(ctx, operation, signal, () => ctx.docker.getImage(repo).push({ tag, abortSignal: signal }));
      const body = await call(ctx, operation, signal, async () => (await readAll(response as Readable)).toString('utf8'));
      // the tag was only for the push: the engine keeps the image under its own name
      await ctx.docker.getImage(target).remove({ noprune: true }).catch(() => undefined);
      const failure = progressError(body);
      if (failure) throw new DriverError(operation, failure);
    },

    async save(refs, options: CallOptions = {}) {
      const { signal } = options;
      if (refs.length === 0) throw new DriverError('save images', 'no image references given');
      // dockerode has getImages (GET /images/get?names=...); its type definitions do not.
      const docker = ctx.docker as unknown as {
        getImages(opts: { names: string[]; abortSignal?: AbortSignal }): Promise<NodeJS.ReadableStream>;
      };
      const stream = await call(ctx, `save images ${refs.join(' ')}`, signal, () =>
        docker.getImages({ names: refs, abortSignal: signal }),
      );
      return stream as Readable;
    },

    async commit(node: NodeHandle, ref, labels, options: CallOptions = {}) {
      const { signal } = options;
      const operation = `commit node ${node.name} to ${ref}`;
      const { repo, tag } = parseImageRef(ref);
      // A commit inherits the container's labels (role=node, ...): override the role.
      const changes = imageChanges({ labels: ownedLabels(labels, 'snapshot') });
      await call(ctx, operation, signal, () =>
        ctx.docker.getContainer(node.id).commit({ repo, tag, changes, pause: true, abortSignal: signal }),
      );
      return mustInspect(ctx, ref, operation, signal);
    },

    async list(selector: Selector, options: CallOptions = {}) {
      const { signal } = options;
      const images = await call(ctx, 'list images', signal, () =>
        ctx.docker.listImages({ filters: { label: labelFilters(selector) }, abortSignal: signal }),
      );
      return images.map((image) => ({
        id: image.Id,
        tags: (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        labels: image.Labels ?? {},
        size: image.Size,
      }));
    },

    async remove(ref, selector: Selector, options: CallOptions = {}) {
      const { signal } = options;
      const operation = `remove image ${ref}`;
      const image = await inspectImage(ctx, ref, signal);
      if (!image) return;
      assertOwned(operation, 'image', image.labels, selector);
      await callUnlessMissing(ctx, operation, signal, () => ctx.docker.getImage(ref).remove({ abortSignal: signal } as object));
    },
  };
}
