import type { Readable } from 'node:stream';
import type { DockerContext } from './api.js';
import { call } from './api.js';

/** Files in and out of a container as tar streams (the engine's archive endpoints). */

/** Extracts `tar` into `destDir`, which must exist in the container. */
export async function copyIn(ctx: DockerContext, containerId: string, nodeName: string, destDir: string, tar: Readable, signal?: AbortSignal): Promise<void> {
  await call(ctx, `copy into ${nodeName}:${destDir}`, signal, () =>
    ctx.docker.getContainer(containerId).putArchive(tar, { path: destDir, abortSignal: signal }),
  );
}

/** A tar stream holding `path` (a file or a directory) under its base name. */
export async function copyOut(ctx: DockerContext, containerId: string, nodeName: string, path: string, signal?: AbortSignal): Promise<Readable> {
  const stream = await call(ctx, `copy out of ${nodeName}:${path}`, signal, () =>
    ctx.docker.getContainer(containerId).getArchive({ path, abortSignal: signal }),
  );
  return stream as Readable;
}
