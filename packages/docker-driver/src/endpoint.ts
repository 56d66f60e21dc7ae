import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigSource } from '@local-cluster/core';
import type { DockerOptions } from 'dockerode';

/**
 * Where the engine is and how to reach it. DOCKER_HOST is read the way the
 * docker CLI reads it (unix://, tcp://, ssh://, npipe://, bare host:port);
 * explicit options win over the environment.
 */

export type Endpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'npipe'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'ssh'; host: string; port: number; username: string | undefined };

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Parses a DOCKER_HOST-style address. Pure: `tlsVerify` says whether
 * DOCKER_TLS_VERIFY is set (TLS is also implied by port 2376).
 */
export function parseDockerHost(value: string, tlsVerify = false, source: ConfigSource = { kind: 'env', name: 'DOCKER_HOST' }): Endpoint {
  const invalid = (why: string): ConfigError =>
    new ConfigError(`Invalid Docker host "${value}": ${why}.`, {
      setting: source.kind === 'env' ? source.name : 'host',
      source,
      hint: 'Use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host.',
    });
  const trimmed = value.trim();
  if (trimmed.startsWith('unix://')) {
    const socketPath = trimmed.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalid('a unix socket needs an absolute path');
    return { kind: 'unix', socketPath };
  }
  if (trimmed.startsWith('npipe://')) {
    return { kind: 'npipe', socketPath: trimmed.slice('npipe://'.length) || '//./pipe/docker_engine' };
  }
  const withScheme = trimmed.includes('://') ? trimmed : `tcp://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid('not a URL');
  }
  if (!url.hostname) throw invalid('no host name');
  const explicitPort = url.port === '' ? undefined : Number(url.port);
  switch (url.protocol) {
    case 'tcp:': {
      const port = explicitPort ?? (tlsVerify ? 2376 : 2375);
      return { kind: 'tcp', host: url.hostname, port, tls: tlsVerify || port === 2376 };
    }
    case 'ssh:':
      return { kind: 'ssh', host: url.hostname, port: explicitPort ?? 22, username: url.username || undefined };
    default:
      throw invalid(`unsupported scheme ${url.protocol.replace(/:$/, '')}`);
  }
}

/** The endpoint as users write it, for messages and DriverInfo. */
export function formatEndpoint(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'unix':
      return `unix://${endpoint.socketPath}`;
    case 'npipe':
      return `npipe://${endpoint.socketPath}`;
    case 'tcp':
      return `tcp://${endpoint.host}:${endpoint.port}`;
    case 'ssh':
      return `ssh://${endpoint.username ? `${endpoint.username}@` : ''}${endpoint.host}:${endpoint.port}`;
  }
}

export interface EndpointOptions {
  /** A DOCKER_HOST-style address; wins over the environment. */
  host?: string;
  /** A unix socket path; wins over `host` and the environment. */
  socketPath?: string;
}

/** Picks the endpoint from options, then DOCKER_HOST, then the default socket. */
export function resolveEndpoint(options: EndpointOptions, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (options.socketPath) return { kind: 'unix', socketPath: options.socketPath };
  const tlsVerify = Boolean(env.DOCKER_TLS_VERIFY) && env.DOCKER_TLS_VERIFY !== '0';
  if (options.host) return parseDockerHost(options.host, tlsVerify, { kind: 'library' });
  if (env.DOCKER_HOST) return parseDockerHost(env.DOCKER_HOST, tlsVerify);
  if (process.platform === 'win32') return { kind: 'npipe', socketPath: '//./pipe/docker_engine' };
  // Docker Desktop's per-user socket, used only when the system one is absent.
  const userSocket = join(homedir(), '.docker', 'run', 'docker.sock');
  if (!existsSync(DEFAULT_SOCKET) && existsSync(userSocket)) return { kind: 'unix', socketPath: userSocket };
  return { kind: 'unix', socketPath: DEFAULT_SOCKET };
}

/**
 * Dockerode options for an endpoint. Every connection field is set, even to
 * undefined, because docker-modem merges its own DOCKER_HOST reading under ours.
 */
export function dockerodeOptions(endpoint: Endpoint, env: NodeJS.ProcessEnv = process.env): DockerOptions {
  const cleared: DockerOptions = { socketPath: undefined, host: undefined, port: undefined, protocol: 'http' };
  switch (endpoint.kind) {
    case 'unix':
    case 'npipe':
      return { ...cleared, socketPath: endpoint.socketPath };
    case 'tcp': {
      const options: DockerOptions = { ...cleared, host: endpoint.host, port: endpoint.port, protocol: endpoint.tls ? 'https' : 'http' };
      const certPath = env.DOCKER_CERT_PATH;
      if (endpoint.tls && certPath) {
        options.ca = readFileSync(join(certPath, 'ca.pem'));
        options.cert = readFileSync(join(certPath, 'cert.pem'));
        options.key = readFileSync(join(certPath, 'key.pem'));
      }
      return options;
    }
    case 'ssh':
      return {
        ...cleared,
        protocol: 'ssh',
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      };
  }
}
