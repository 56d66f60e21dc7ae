import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { LABELS, type CallOptions, type DriverInfo } from '@local-cluster/core';
import { call, quietly, type DockerContext } from './api.js';
import { importTar } from './images.js';

export type SecurityModeOption = 'auto' | 'always' | 'never';
export type SecurityMode = DriverInfo['securityMode'];

/**
 * Engine facts and the security mode for node containers. Whether the engine
 * accepts --privileged is found by trying it: some VMs lack capabilities in
 * their bounding set and the failure only shows when a container starts.
 */

/** Reads the outcome of starting a privileged probe container (undefined: it started). */
export function privilegedAccepted(startError: string | undefined): boolean {
  if (startError === undefined) return true;
  if (/apply caps|operation not permitted|privileged .*(disabled|not allowed)/i.test(startError)) return false;
  // The probe runs a command that does not exist: failing to find it means the
  // runtime got past applying privileges.
  return /no such file or directory|executable file not found/i.test(startError);
}

/**
 * "auto" and "never": the node capability set, whether or not the engine would run nodes
 * privileged (only what nodes need, where the host allows: any engine this runs on); "always":
 * --privileged, for hosts or plugins the set is not enough for.
 */
export function chooseSecurityMode(option: SecurityModeOption): SecurityMode {
  return option === 'always' ? 'privileged' : 'capabilities';
}

/** Two zero blocks: an empty tar archive, enough for an image to create a container from. */
const EMPTY_TAR = Buffer.alloc(1024);
const PROBE_COMMAND = '/local-cluster-privileged-probe';

/**
 * Creates and starts a labelled privileged container from an empty image made
 * for the purpose, then removes both. Each probe uses its own tag so that
 * concurrent probes never remove each other's image.
 */
export async function probePrivileged(ctx: DockerContext, signal?: AbortSignal): Promise<boolean> {
  const ref = `local-cluster/privileged-probe:${randomUUID().slice(0, 12)}`;
  const labels = { [LABELS.managed]: 'true' };
  await importTar(ctx, Readable.from([EMPTY_TAR]), ref, { labels }, signal);
  let containerId: string | undefined;
  try {
    const container = await call(ctx, 'probe privileged mode', signal, () =>
      ctx.docker.createContainer({
        Image: ref,
        Cmd: [PROBE_COMMAND],
        Labels: labels,
        NetworkDisabled: true,
        HostConfig: { Privileged: true, NetworkMode: 'none' },
      }),
    );
    containerId = container.id;
    let startError: string | undefined;
    try {
      await call(ctx, 'probe privileged mode', signal, () => container.start());
    } catch (error) {
      if (signal?.aborted) throw error;
      startError = (error as Error).message;
    }
    return privilegedAccepted(startError);
  } finally {
    const id = containerId;
    if (id !== undefined) await quietly(() => ctx.docker.getContainer(id).remove({ force: true, v: true }));
    await quietly(() => ctx.docker.getImage(ref).remove());
  }
}

interface EngineVersion {
  Version?: string;
  ApiVersion?: string;
  Os?: string;
}

interface EngineInfo {
  OperatingSystem?: string;
  CgroupVersion?: string;
  SecurityOptions?: string[] | null;
}

export async function readInfo(
  ctx: DockerContext,
  security: (signal?: AbortSignal) => Promise<{ privilegedSupported: boolean | undefined; securityMode: SecurityMode }>,
  options: CallOptions = {},
): Promise<DriverInfo> {
  const { signal } = options;
  // Both accept options at runtime; the type definitions only know callbacks.
  const docker = ctx.docker as unknown as {
    version(opts: { abortSignal?: AbortSignal }): Promise<EngineVersion>;
    info(opts: { abortSignal?: AbortSignal }): Promise<EngineInfo>;
  };
  const version = await call(ctx, 'read engine version', signal, () => docker.version({ abortSignal: signal }));
  const info = await call(ctx, 'read engine info', signal, () => docker.info({ abortSignal: signal }));
  const { privilegedSupported, securityMode } = await security(signal);
  return {
    driver: 'docker',
    endpoint: ctx.endpoint,
    engineVersion: version.Version ?? 'unknown',
    apiVersion: version.ApiVersion ?? 'unknown',
    os: info.OperatingSystem || version.Os || 'unknown',
    cgroupVersion: info.CgroupVersion === '2' ? 2 : 1,
    rootless: (info.SecurityOptions ?? []).some((option) => option.split(',').includes('name=rootless')),
    ...(privilegedSupported === undefined ? {} : { privilegedSupported }),
    securityMode,
  };
}
