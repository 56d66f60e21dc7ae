import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigSource } from '@local-cluster/core';
import type { DockerOptions } from 'dockerode';
import { SshDialAgent } from './ssh.js';

/**
 * Where the engine is and how to reach it, read the way the docker CLI reads it:
 * the library's options, then DOCKER_HOST (unix://, tcp://, ssh://, npipe://, bare
 * host:port, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), then the Docker context named by
 * DOCKER_CONTEXT, then the `currentContext` of the CLI's config.json, then the default socket.
 */

export type Endpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'npipe'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'ssh'; host: string; port: number; username: string | undefined };

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** TLS material for a tcp endpoint, read and checked. */
export interface TlsMaterial {
  /** Verify the engine's certificate against `ca` (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The directory the files came from, for messages. */
  dir?: string;
}

/** An endpoint, where it was configured, and what it needs to connect. */
export interface EngineTarget {
  endpoint: Endpoint;
  /** Where the address came from, for messages: DOCKER_HOST, `Docker context "x" (DOCKER_CONTEXT)`, ... */
  origin: string;
  /** How the user changes it, for hints. */
  fix: string;
  tls?: TlsMaterial;
}

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
  // URL keeps IPv6 literals bracketed; sockets want them bare
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  switch (url.protocol) {
    case 'tcp:': {
      const port = explicitPort ?? (tlsVerify ? 2376 : 2375);
      return { kind: 'tcp', host, port, tls: tlsVerify || port === 2376 };
    }
    case 'ssh:':
      return { kind: 'ssh', host, port: explicitPort ?? 22, username: url.username ? decodeURIComponent(url.username) : undefined };
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
      return `tcp://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    case 'ssh':
      return `ssh://${endpoint.username ? `${endpoint.username}@` : ''}${endpoint.host}:${endpoint.port}`;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith('.localhost');
}

/**
 * Whether the engine runs on another machine, and the address this machine reaches the
 * ports it publishes at: 127.0.0.1 for a unix socket or a loopback tcp/ssh address, the host
 * name of DOCKER_HOST (or the context's) otherwise.
 */
export function engineLocation(endpoint: Endpoint): { remote: boolean; address: string } {
  if (endpoint.kind === 'unix' || endpoint.kind === 'npipe' || isLoopback(endpoint.host)) return { remote: false, address: '127.0.0.1' };
  return { remote: true, address: endpoint.host };
}

export interface EndpointOptions {
  /** A DOCKER_HOST-style address; wins over the environment. */
  host?: string;
  /** A unix socket path; wins over `host` and the environment. */
  socketPath?: string;
}

/** The docker CLI's configuration directory: DOCKER_CONFIG or ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

function defaultSocket(): Endpoint {
  if (process.platform === 'win32') return { kind: 'npipe', socketPath: '//./pipe/docker_engine' };
  // Docker Desktop's per-user socket, used only when the system one is absent.
  const userSocket = join(homedir(), '.docker', 'run', 'docker.sock');
  if (!existsSync(DEFAULT_SOCKET) && existsSync(userSocket)) return { kind: 'unix', socketPath: userSocket };
  return { kind: 'unix', socketPath: DEFAULT_SOCKET };
}

/** A PEM file of the TLS material, read and parsed, or a ConfigError naming the file and the setting. */
function readPem(file: string, what: 'ca' | 'cert' | 'key', setting: string, source: ConfigSource): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw new ConfigError(`Cannot read the TLS ${what === 'ca' ? 'CA certificate' : what === 'cert' ? 'client certificate' : 'client key'} ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, {
      setting,
      source,
      hint: `${setting} must name a directory holding ca.pem, cert.pem and key.pem (the files \`docker --tlsverify\` uses).`,
    });
  }
  try {
    if (what === 'key') createPrivateKey(data);
    else new X509Certificate(data);
  } catch (error) {
    throw new ConfigError(`The TLS ${what === 'key' ? 'client key' : 'certificate'} ${file} is not valid PEM: ${(error as Error).message}.`, {
      setting,
      source,
      hint: `Replace ${file} with a PEM ${what === 'key' ? 'private key' : 'certificate'} (as openssl writes it).`,
    });
  }
  return data;
}

/**
 * The TLS files of a directory: ca.pem (required when verifying), cert.pem and key.pem
 * (a client certificate: both or neither), each checked, and the key against the certificate.
 */
export function readTlsDir(dir: string, verify: boolean, setting: string, source: ConfigSource): TlsMaterial {
  const path = (name: string) => join(dir, name);
  const material: TlsMaterial = { verify, dir };
  if (verify || existsSync(path('ca.pem'))) material.ca = readPem(path('ca.pem'), 'ca', setting, source);
  const hasCert = existsSync(path('cert.pem'));
  const hasKey = existsSync(path('key.pem'));
  if (hasCert || hasKey) {
    material.cert = readPem(path('cert.pem'), 'cert', setting, source);
    material.key = readPem(path('key.pem'), 'key', setting, source);
    if (!new X509Certificate(material.cert).checkPrivateKey(createPrivateKey(material.key))) {
      throw new ConfigError(`The TLS client key ${path('key.pem')} does not belong to the certificate ${path('cert.pem')}.`, {
        setting,
        source,
        hint: 'Put the key the client certificate was made for next to it.',
      });
    }
  }
  return material;
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

/** The current context's name and where it was set, or undefined for the default context. */
function currentContext(env: NodeJS.ProcessEnv): { name: string; origin: string; source: ConfigSource } | undefined {
  if (env.DOCKER_CONTEXT) return { name: env.DOCKER_CONTEXT, origin: 'DOCKER_CONTEXT', source: { kind: 'env', name: 'DOCKER_CONTEXT' } };
  const configFile = join(dockerConfigDir(env), 'config.json');
  if (!existsSync(configFile)) return undefined;
  let config: { currentContext?: unknown };
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as { currentContext?: unknown };
  } catch (error) {
    throw new ConfigError(`The docker CLI's config file ${configFile} is not valid JSON: ${(error as Error).message}.`, {
      source: { kind: 'file', path: configFile },
      hint: 'Fix the file (docker reads it too), or point DOCKER_CONFIG at another directory.',
    });
  }
  if (typeof config.currentContext !== 'string' || config.currentContext === '') return undefined;
  return { name: config.currentContext, origin: `currentContext in ${configFile}`, source: { kind: 'file', path: configFile } };
}

/** Reads a Docker context the way the CLI stores it: contexts/meta/<sha256 of the name>/meta.json and contexts/tls/<same>/docker/. */
export function readDockerContext(name: string, origin: string, source: ConfigSource, env: NodeJS.ProcessEnv = process.env): EngineTarget {
  const id = createHash('sha256').update(name).digest('hex');
  const dir = dockerConfigDir(env);
  const metaFile = join(dir, 'contexts', 'meta', id, 'meta.json');
  const label = `Docker context "${name}" (${origin})`;
  const setting = source.kind === 'env' ? source.name : 'currentContext';
  if (!existsSync(metaFile)) {
    throw new ConfigError(`${label} does not exist: ${metaFile} is missing.`, {
      setting,
      source,
      hint: 'List the contexts with `docker context ls`; pick one with DOCKER_CONTEXT or `docker context use NAME`, or create it with `docker context create`.',
    });
  }
  let meta: ContextMeta;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as ContextMeta;
  } catch (error) {
    throw new ConfigError(`${label}: ${metaFile} is not valid JSON: ${(error as Error).message}.`, { setting, source, hint: 'Recreate the context with `docker context create`.' });
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new ConfigError(`${label} has no docker endpoint (Endpoints.docker.Host in ${metaFile}).`, { setting, source, hint: 'Recreate it: docker context create NAME --docker host=tcp://...' });
  const tlsDir = join(dir, 'contexts', 'tls', id, 'docker');
  const hasTls = existsSync(tlsDir);
  const endpoint = parseDockerHost(host, hasTls, { kind: 'file', path: metaFile });
  const target: EngineTarget = { endpoint, origin: label, fix: `switch or fix the context (DOCKER_CONTEXT, \`docker context use\`)` };
  if (endpoint.kind === 'tcp' && hasTls) {
    target.endpoint = { ...endpoint, tls: true };
    target.tls = readTlsDir(tlsDir, !meta.Endpoints?.docker?.SkipTLSVerify, setting, source);
  }
  return target;
}

/** TLS for a DOCKER_HOST-style tcp address: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (default: the CLI's config directory). */
function envTls(endpoint: Endpoint, env: NodeJS.ProcessEnv, tlsVerify: boolean): TlsMaterial | undefined {
  if (endpoint.kind !== 'tcp' || !endpoint.tls) return undefined;
  const certPath = env.DOCKER_CERT_PATH;
  const dir = certPath || dockerConfigDir(env);
  const source: ConfigSource = certPath ? { kind: 'env', name: 'DOCKER_CERT_PATH' } : { kind: 'env', name: 'DOCKER_TLS_VERIFY' };
  const setting = certPath ? 'DOCKER_CERT_PATH' : 'DOCKER_TLS_VERIFY';
  // without verification (port 2376 alone) the files are optional, as for `docker --tls`
  if (!tlsVerify && !existsSync(join(dir, 'cert.pem')) && !existsSync(join(dir, 'ca.pem'))) return { verify: false };
  return readTlsDir(dir, tlsVerify, setting, source);
}

/** Picks the engine: options, DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, the default socket. */
export function resolveEngine(options: EndpointOptions, env: NodeJS.ProcessEnv = process.env): EngineTarget {
  if (options.socketPath) return { endpoint: { kind: 'unix', socketPath: options.socketPath }, origin: 'the socketPath option', fix: 'fix the socketPath option' };
  const tlsVerify = Boolean(env.DOCKER_TLS_VERIFY) && env.DOCKER_TLS_VERIFY !== '0';
  const withTls = (endpoint: Endpoint, origin: string, fix: string): EngineTarget => {
    const tls = envTls(endpoint, env, tlsVerify);
    return { endpoint, origin, fix, ...(tls ? { tls } : {}) };
  };
  if (options.host) return withTls(parseDockerHost(options.host, tlsVerify, { kind: 'library' }), 'the host option', 'fix the host option');
  if (env.DOCKER_HOST) return withTls(parseDockerHost(env.DOCKER_HOST, tlsVerify), 'DOCKER_HOST', 'fix or unset DOCKER_HOST');
  const context = currentContext(env);
  if (context && context.name !== 'default') return readDockerContext(context.name, context.origin, context.source, env);
  return { endpoint: defaultSocket(), origin: 'the default socket', fix: 'set DOCKER_HOST' };
}

/** Picks the endpoint (see resolveEngine). */
export function resolveEndpoint(options: EndpointOptions, env: NodeJS.ProcessEnv = process.env): Endpoint {
  return resolveEngine(options, env).endpoint;
}

/** How long a TCP connection to the engine may take to open before it counts as not answering. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * An agent for a tcp engine that gives up when the connection does not open within
 * CONNECT_TIMEOUT_MS (a host that drops packets would otherwise hang for minutes), and
 * carries the TLS material (with verification off when the user asked for that).
 */
function tcpAgent(endpoint: Extract<Endpoint, { kind: 'tcp' }>, tls: TlsMaterial | undefined): HttpAgent {
  const guard = (socket: Socket): Socket => {
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`connect ETIMEDOUT ${endpoint.host}:${endpoint.port} (no answer within ${CONNECT_TIMEOUT_MS / 1000} s)`), { code: 'ETIMEDOUT' }));
    }, CONNECT_TIMEOUT_MS);
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
  if (endpoint.tls) {
    const agent = new HttpsAgent({
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
      rejectUnauthorized: tls?.verify ?? true,
    });
    const create = agent.createConnection.bind(agent) as (options: AgentOptions, cb?: unknown) => Socket;
    agent.createConnection = ((options: AgentOptions, cb?: unknown) => guard(create(options, cb))) as typeof agent.createConnection;
    return agent;
  }
  const agent = new HttpAgent();
  const create = agent.createConnection.bind(agent) as (options: AgentOptions, cb?: unknown) => Socket;
  agent.createConnection = ((options: AgentOptions, cb?: unknown) => guard(create(options, cb))) as typeof agent.createConnection;
  return agent;
}

/** A private key for ssh when no agent runs: the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
function defaultSshKey(): Buffer | undefined {
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = join(homedir(), '.ssh', name);
    if (existsSync(file)) return readFileSync(file);
  }
  return undefined;
}

/**
 * Dockerode options for an endpoint. Every connection field is set, even to
 * undefined, because docker-modem merges its own DOCKER_HOST reading under ours.
 */
export function dockerodeOptions(endpoint: Endpoint, tls?: TlsMaterial, env: NodeJS.ProcessEnv = process.env): DockerOptions {
  const cleared: DockerOptions = { socketPath: undefined, host: undefined, port: undefined, protocol: 'http', ca: undefined, cert: undefined, key: undefined };
  switch (endpoint.kind) {
    case 'unix':
    case 'npipe':
      return { ...cleared, socketPath: endpoint.socketPath };
    case 'tcp': {
      const options: DockerOptions = { ...cleared, host: endpoint.host, port: endpoint.port, protocol: endpoint.tls ? 'https' : 'http' };
      if (endpoint.tls && tls) {
        if (tls.ca) options.ca = tls.ca;
        if (tls.cert) options.cert = tls.cert;
        if (tls.key) options.key = tls.key;
      }
      (options as DockerOptions & { agent: HttpAgent }).agent = tcpAgent(endpoint, tls);
      return options;
    }
    case 'ssh': {
      const agent = env.SSH_AUTH_SOCK;
      const privateKey = agent ? undefined : defaultSshKey();
      // plain HTTP over our agent, whose connections are dial-stdio channels of kept ssh connections
      const options: DockerOptions = { ...cleared, protocol: 'http', host: endpoint.host, port: endpoint.port };
      (options as DockerOptions & { agent: HttpAgent }).agent = new SshDialAgent({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username ?? userInfo().username,
        ...(agent ? { agent } : {}),
        ...(privateKey ? { privateKey } : {}),
        readyTimeout: CONNECT_TIMEOUT_MS,
      });
      return options;
    }
  }
}
