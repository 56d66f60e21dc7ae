import {
  AbortedError,
  DriverError,
  EngineUnreachableError,
  isDriverError,
  isEngineUnreachableError,
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
  /** Where the endpoint was configured (DOCKER_HOST, a Docker context, the default socket), for messages. */
  readonly origin?: string;
  /** How to point elsewhere, for hints ("fix or unset DOCKER_HOST"). */
  readonly fix?: string;
  /** Whether TLS material was given (DOCKER_CERT_PATH or the context's), for hints. */
  readonly tlsDir?: string;
  /** Resolves once the engine has answered (one ping per driver); every call waits for it. */
  readonly answering?: (signal?: AbortSignal) => Promise<void>;
}

/** How long the engine may take to answer its first request before it counts as not reachable. */
export const ENGINE_ANSWER_MS = 20_000;

/**
 * A check, made once and shared by every call, that the engine answers at all: something that
 * accepts the connection but never answers (not an engine, a hung one) is reported as not
 * reachable after ENGINE_ANSWER_MS instead of hanging the first call. A failed check is retried
 * by the next call.
 */
export function answeringCheck(ctx: Omit<DockerContext, 'answering'>): (signal?: AbortSignal) => Promise<void> {
  let pending: Promise<void> | undefined;
  let answered = false;
  const ping = async (): Promise<void> => {
    const answer = AbortSignal.timeout(ENGINE_ANSWER_MS);
    try {
      await (ctx.docker as unknown as { ping(opts: { abortSignal: AbortSignal }): Promise<unknown> }).ping({ abortSignal: answer });
      answered = true;
    } catch (error) {
      const where = { ...(ctx.origin ? { origin: ctx.origin } : {}), ...(ctx.fix ? { fix: ctx.fix } : {}), untouched: true };
      if (!answer.aborted) {
        const translated = translateError(ctx, 'reach the engine', error);
        // the first contact: nothing of this run has reached the engine
        if (isEngineUnreachableError(translated)) throw new EngineUnreachableError(ctx.endpoint, { cause: error, ...(translated.reason ? { reason: translated.reason } : {}), ...where });
        throw translated;
      }
      throw new EngineUnreachableError(ctx.endpoint, {
        cause: error,
        untouched: true,
        reason: `no answer within ${ENGINE_ANSWER_MS / 1000} s`,
        ...(ctx.origin ? { origin: ctx.origin } : {}),
        ...(ctx.fix ? { fix: ctx.fix } : {}),
      });
    }
  };
  return async (signal) => {
    if (answered) return;
    pending ??= ping().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    if (!signal) return pending;
    // the caller's signal stops the wait, not the shared check
    throwIfAborted(signal, 'reach the engine');
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(new AbortedError('reach the engine'));
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  };
}

/** Connection failures that mean "nothing answers there", in words. */
const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ENOENT: 'no such socket',
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'no answer (timed out)',
};

/** An error of the TLS handshake (certificate not trusted, wrong name, client certificate refused). */
function isTlsError(e: ModemError): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(e.code ?? '') || /certificate|SSL routines|\bTLS\b/i.test(e.message ?? '');
}

/** The endpoint and where it came from: "tcp://h:2376 (DOCKER_HOST)". */
export function endpointLabel(ctx: DockerContext): string {
  return ctx.origin && ctx.origin !== 'the default socket' ? `${ctx.endpoint} (from ${ctx.origin})` : ctx.endpoint;
}

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
  if ((e as { level?: string }).level === 'client-authentication' || /authentication methods failed/i.test(e.message ?? '')) {
    return new DriverError(operation, `ssh login to ${endpointLabel(ctx)} failed: ${e.message ?? 'authentication failed'}`, {
      cause: error,
      hint: 'Load your key into ssh-agent (SSH_AUTH_SOCK), or keep it at ~/.ssh/id_ed25519, id_ecdsa or id_rsa without a passphrase; the user is the one in ssh://USER@HOST.',
    });
  }
  if (typeof e.statusCode !== 'number' && isTlsError(e)) {
    return new DriverError(operation, `the TLS handshake with ${endpointLabel(ctx)} failed: ${e.message ?? e.code}`, {
      cause: error,
      hint: ctx.tlsDir
        ? `Check the TLS files in ${ctx.tlsDir} (ca.pem must have signed the engine's certificate, which must name the host; cert.pem/key.pem must be a client certificate the engine trusts).`
        : 'Set DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem (and DOCKER_TLS_VERIFY=1), as for `docker --tlsverify`.',
    });
  }
  if (e.code !== undefined && e.code in UNREACHABLE_CODES) {
    return new EngineUnreachableError(ctx.endpoint, { cause: error, reason: UNREACHABLE_CODES[e.code], ...(ctx.origin ? { origin: ctx.origin } : {}), ...(ctx.fix ? { fix: ctx.fix } : {}) });
  }
  if (e.statusCode === 400 && /HTTP request to an HTTPS server/i.test(`${e.json?.message ?? ''} ${e.message ?? ''}`)) {
    return new DriverError(operation, `${endpointLabel(ctx)} speaks TLS, but no TLS was asked for`, {
      cause: error,
      statusCode: 400,
      hint: 'Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (the directory with ca.pem, cert.pem, key.pem), or use port 2376.',
    });
  }
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
  if (ctx.answering) await ctx.answering(signal);
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
