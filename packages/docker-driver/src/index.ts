import Docker from 'dockerode';
import { ConfigError, DRIVER_API_VERSION, type CallOptions, type Driver } from '@local-cluster/core';
import { answeringCheck, type DockerContext } from './api.js';
import { listClusters } from './clusters.js';
import { dockerodeOptions, engineLocation, formatEndpoint, resolveEngine, type EndpointOptions } from './endpoint.js';
import { imageOps } from './images.js';
import { chooseSecurityMode, probePrivileged, readInfo, type SecurityMode, type SecurityModeOption } from './info.js';
import { connectNetwork, createNetwork, listAllNetworks, listNetworks, removeNetwork } from './networks.js';
import { createNode, listNodes, removeNodes } from './nodes.js';
import { volumeOps } from './volumes.js';

export {
  parseDockerHost,
  formatEndpoint,
  resolveEndpoint,
  resolveEngine,
  engineLocation,
  readDockerContext,
  dockerConfigDir,
  type Endpoint,
  type EndpointOptions,
  type EngineTarget,
  type TlsMaterial,
} from './endpoint.js';
export type { SecurityModeOption } from './info.js';

export interface DockerDriverOptions extends EndpointOptions {
  /**
   * How node containers get their privileges. `auto` (default) uses
   * --privileged when the engine accepts it and the capability set otherwise;
   * `always` and `never` force one of them.
   */
  securityMode?: SecurityModeOption;
}

const SECURITY_OPTIONS: readonly SecurityModeOption[] = ['auto', 'always', 'never'];

/** A Driver for a Docker Engine (API >= 1.41), reached through DOCKER_HOST or the options. */
export function dockerDriver(options: DockerDriverOptions = {}): Driver {
  const securityOption = options.securityMode ?? 'auto';
  if (!SECURITY_OPTIONS.includes(securityOption)) {
    throw new ConfigError(`Unknown securityMode "${String(securityOption)}": use one of ${SECURITY_OPTIONS.join(', ')}.`, {
      setting: 'securityMode',
      source: { kind: 'library' },
    });
  }
  // DOCKER_HOST (+ DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), DOCKER_CONTEXT or the CLI's current
  // context; TLS files are read and checked here, so a bad one fails before any call
  const target = resolveEngine(options);
  const endpoint = formatEndpoint(target.endpoint);
  const docker = new Docker(dockerodeOptions(target.endpoint, target.tls));
  const base = {
    docker,
    endpoint,
    origin: target.origin,
    fix: target.fix,
    ...(target.tls?.dir ? { tlsDir: target.tls.dir } : {}),
  };
  const ctx: DockerContext = { ...base, answering: answeringCheck(base) };

  // Only privileged nodes (securityMode "always") need to know whether the engine allows them:
  // probed once per driver then (a throwaway container); a failed or cancelled probe is retried next time.
  let probe: Promise<boolean> | undefined;
  const security = async (signal?: AbortSignal): Promise<{ privilegedSupported: boolean | undefined; securityMode: SecurityMode }> => {
    const securityMode = chooseSecurityMode(securityOption);
    if (securityMode !== 'privileged') return { privilegedSupported: undefined, securityMode };
    probe ??= probePrivileged(ctx, signal).catch((error: unknown) => {
      probe = undefined;
      throw error;
    });
    return { privilegedSupported: await probe, securityMode };
  };
  const securityMode = async (signal?: AbortSignal): Promise<SecurityMode> => (await security(signal)).securityMode;

  return {
    apiVersion: DRIVER_API_VERSION,
    name: 'docker',
    location: { endpoint, origin: target.origin, ...engineLocation(target.endpoint) },
    info: (callOptions?: CallOptions) => readInfo(ctx, security, callOptions),
    createNetwork: (spec, callOptions) => createNetwork(ctx, spec, callOptions),
    listNetworks: (selector, callOptions) => listNetworks(ctx, selector, callOptions),
    listAllNetworks: (callOptions) => listAllNetworks(ctx, callOptions),
    removeNetwork: (name, selector, callOptions) => removeNetwork(ctx, name, selector, callOptions),
    connectNetwork: (name, node, selector, callOptions) => connectNetwork(ctx, name, node, selector, callOptions),
    createNode: (spec, callOptions) => createNode(ctx, securityMode, spec, callOptions),
    listNodes: (selector, callOptions) => listNodes(ctx, selector, callOptions),
    removeNodes: (nodes, callOptions) => removeNodes(ctx, nodes, callOptions),
    images: imageOps(ctx),
    volumes: volumeOps(ctx),
    listClusters: (callOptions) => listClusters(ctx, callOptions),
  };
}
