import {
  AbortedError,
  DriverError,
  EngineUnreachableError,
  isDriverError,
  isLocalClusterError,
  throwIfAborted,
  type LocalClusterError,
} from '@local-cluster/core';
import type Dockerode from 'dockerode';

/** What every part of the driver shares: one engine connection and where it points. */
export interface DockerContext {
  readonly docker: Dockerode;
  /** e.g. unix:///var/run/docker.sock, for messages. */
  readonly endpoint: string;
}

/** Connection failures that mean "nothing answers there". */
const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

interface ModemError {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
}

/** Turns whatever dockerode threw into one of core's typed errors. */
export function translateError(
  ctx: DockerContext,
  operation: string,
  error: unknown,
  signal?: AbortSignal,
): LocalClusterError {
  if (isLocalClusterError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as ModemError;
  if (signal?.aborted || e.name === 'AbortError') return new AbortedError(operation, { cause: error });
  if (e.code !== undefined && UNREACHABLE_CODES.has(e.code)) return new EngineUnreachableError(ctx.endpoint, { cause: error });
  if (e.code === 'EACCES') {
    return new DriverError(operation, `permission denied on ${ctx.endpoint}`, {
      cause: error,
      hint: 'Run as a user allowed to use the engine (e.g. in the docker group), or set DOCKER_HOST.',
    });
  }
  if (typeof e.statusCode === 'number') {
    const detail = e.json && typeof e.json === 'object' && e.json.message ? e.json.message : e.message ?? 'request failed';
    return new DriverError(operation, detail.trim(), { statusCode: e.statusCode, cause: error });
  }
  return new DriverError(operation, e.message ?? String(error), { cause: error });
}

/** Runs one engine API call: checks the signal first, translates failures. */
export async function call<T>(
  ctx: DockerContext,
  operation: string,
  signal: AbortSignal | undefined,
  request: () => Promise<T>,
): Promise<T> {
  throwIfAborted(signal, operation);
  try {
    return await request();
  } catch (error) {
    throw translateError(ctx, operation, error, signal);
  }
}

export function isNotFound(error: unknown): boolean {
  return isDriverError(error) && error.statusCode === 404;
}

/** Like `call`, but an object that does not exist yields undefined (inspect, idempotent remove). */
export async function callUnlessMissing<T>(
  ctx: DockerContext,
  operation: string,
  signal: AbortSignal | undefined,
  request: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call(ctx, operation, signal, request);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Best-effort cleanup that must not mask the error being handled. */
export async function quietly(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch {
    // The original failure is the one worth reporting.
  }
}
