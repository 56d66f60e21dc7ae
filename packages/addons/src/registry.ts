import { createServer } from 'node:net';
import {
  ADDON_API_VERSION, DriverError, ensureImage, LABELS, PreflightError, writeRegistryHosts,
  type Addon, type CallOptions, type Driver, type EngineContext, type ImageRequirement, type Logger, type NodeHandle, type RegistryHosts, type ResolvedConfig,
} from '@local-cluster/core';

/**
 * The local registry: one container on the engine (CNCF Distribution's `registry`, built from
 * its Go module), its data in a named volume, shared by every cluster that asks for it
 * (cluster.registry). The host pushes to localhost:PORT (published on 127.0.0.1 only); every
 * node's containerd sends pulls of localhost:PORT to the container, attached to the cluster's
 * network under its name, so a manifest naming localhost:PORT/app:dev runs unchanged. It outlives
 * `down` and `clean` (no cluster label) and comes back with the engine (restart policy);
 * `local-cluster registry rm` removes it.
 */

export const REGISTRY_MODULE = 'github.com/distribution/distribution/v3';
export const REGISTRY_VERSION = 'v3.1.2';
export const REGISTRY_IMAGE = `docker.io/local-cluster/registry:${REGISTRY_VERSION}`;
/** The container's name, also its name on every cluster network it is attached to. */
export const REGISTRY_CONTAINER = 'local-cluster-registry';
export const REGISTRY_VOLUME = 'local-cluster-registry';
/** Where the registry listens inside its container. */
export const REGISTRY_CONTAINER_PORT = 5000;
const DATA_DIR = '/var/lib/registry';
const CONFIG_FILE = '/etc/distribution/config.yml';
/** KEP-1755: where tools (Tilt, Skaffold, ctlptl) read which registry the cluster has. */
export const REGISTRY_HOSTING_CONFIGMAP = { namespace: 'kube-public', name: 'local-registry-hosting' } as const;

/** The registry's configuration: filesystem storage on the volume, deletes allowed, plain HTTP on :5000. */
export const REGISTRY_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ${DATA_DIR}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: :${REGISTRY_CONTAINER_PORT}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

export function registryImage(): ImageRequirement {
  return {
    ref: REGISTRY_IMAGE,
    recipe: {
      go: [
        {
          module: REGISTRY_MODULE,
          version: REGISTRY_VERSION,
          package: 'cmd/registry',
          binary: 'registry',
          ldflags: [`-X ${REGISTRY_MODULE}/version.version=${REGISTRY_VERSION}`],
        },
      ],
      files: [{ path: CONFIG_FILE, content: REGISTRY_CONFIG }],
      entrypoint: ['/usr/local/bin/registry'],
      cmd: ['serve', CONFIG_FILE],
    },
    // it runs on the engine beside the nodes, not in them
    loadIntoNodes: false,
  };
}

/** The name images carry on the host and in manifests alike. */
export function registryName(config: ResolvedConfig): string {
  return `localhost:${config.cluster.registryPort}`;
}

/** Where the nodes' containerd sends pulls of localhost:PORT: the container on the cluster's network. */
export function registryHosts(config: ResolvedConfig): RegistryHosts {
  // containerd 1.6 refuses a hosts.toml without a [host] table: the container is the one host
  // and the server too (so a failed pull names it, not an unreachable localhost)
  const url = `http://${REGISTRY_CONTAINER}:${REGISTRY_CONTAINER_PORT}`;
  return { registry: registryName(config), server: { url }, mirrors: [{ url }] };
}

/** The KEP-1755 ConfigMap. */
export function registryHostingManifest(config: ResolvedConfig): object[] {
  const hosting = [
    `host: "${registryName(config)}"`,
    `hostFromContainerRuntime: "${registryName(config)}"`,
    `hostFromClusterNetwork: "${REGISTRY_CONTAINER}:${REGISTRY_CONTAINER_PORT}"`,
    // `help` (a documentation URL) is optional: the project has no published docs site to name
  ].join('\n');
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...REGISTRY_HOSTING_CONFIGMAP },
      data: { 'localRegistryHosting.v1': `${hosting}\n` },
    },
  ];
}

/** Whether a TCP port is free at an address of this machine. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const ownedRegistry = (labels: Record<string, string> | undefined) => labels?.[LABELS.managed] === 'true' && labels[LABELS.role] === 'registry';

/** The registry container of ours, if there is one. */
export async function findRegistry(driver: Driver, options: CallOptions = {}): Promise<NodeHandle | undefined> {
  return (await driver.listNodes({ role: 'registry' }, options)).find((n) => n.name === REGISTRY_CONTAINER);
}

/**
 * Before anything is made: a container or volume of the registry's name that is not ours, or
 * the host port taken by something else, refuses the run naming the setting.
 */
export async function registryPreflight(driver: Driver, config: ResolvedConfig, options: CallOptions = {}): Promise<void> {
  if (!driver.labelsOf || !driver.connectNetwork) {
    throw new PreflightError('registry', `cluster.registry (--registry) needs a driver that can attach a container to several networks; driver "${driver.name}" cannot.`, { hint: 'Use the docker driver, or leave cluster.registry off.' });
  }
  for (const kind of ['container', 'volume'] as const) {
    const labels = await driver.labelsOf(kind, kind === 'container' ? REGISTRY_CONTAINER : REGISTRY_VOLUME, options);
    if (labels && !ownedRegistry(labels)) {
      throw new PreflightError('registry', `cluster.registry (--registry): a ${kind} named "${kind === 'container' ? REGISTRY_CONTAINER : REGISTRY_VOLUME}" exists on the engine and was not made by local-cluster (it lacks the labels ${LABELS.managed}=true, ${LABELS.role}=registry).`, {
        hint: `It is not ours to use or remove: rename or remove it yourself (docker ${kind} rm ${kind === 'container' ? REGISTRY_CONTAINER : REGISTRY_VOLUME}), or leave cluster.registry off.`,
      });
    }
  }
  const port = config.cluster.registryPort;
  const running = await findRegistry(driver, options);
  if (running) {
    const published = await running.hostPort(REGISTRY_CONTAINER_PORT, options);
    if (published !== undefined && published !== port) {
      throw new PreflightError('registry-port', `cluster.registryPort (--registry-port) is ${port}, but the local registry on this engine is published on port ${published}: one registry serves every cluster.`, {
        hint: `Use --registry-port ${published}, or remove the registry first (local-cluster registry rm; its images go with it).`,
      });
    }
    return;
  }
  // a remote engine's ports are its machine's: the engine judges them when the container starts
  if (!driver.location?.remote && !(await portFree(port, '127.0.0.1'))) {
    throw new PreflightError('registry-port', `cluster.registryPort (--registry-port) ${port} is already in use on this host (127.0.0.1).`, {
      hint: 'Pick a free port with --registry-port (cluster.registryPort), or stop what listens there.',
    });
  }
}

export interface RegistryStartOptions {
  signal: AbortSignal;
  logger: Logger;
  /** The image factory's cache directory. */
  cacheDir: string;
}

/** Makes (or starts) the registry container: image built by the factory, data in its volume, restarted with the engine. */
export async function startRegistry(driver: Driver, config: ResolvedConfig, options: RegistryStartOptions): Promise<NodeHandle> {
  const { logger, signal } = options;
  const call = { signal };
  await registryPreflight(driver, config, call);
  const existing = await findRegistry(driver, call);
  if (existing) {
    if ((await existing.state(call)) !== 'running') {
      logger.info(`starting the local registry ${REGISTRY_CONTAINER}`);
      await existing.start(call);
    }
    return existing;
  }
  await ensureImage({ image: registryImage(), neededBy: 'the local registry (cluster.registry)' }, { driver, cacheDir: options.cacheDir, logger, signal });
  if (!(await driver.labelsOf?.('volume', REGISTRY_VOLUME, call))) await driver.volumes.create(REGISTRY_VOLUME, { [LABELS.role]: 'registry' }, call);
  logger.info(`starting the local registry ${REGISTRY_CONTAINER} on 127.0.0.1:${config.cluster.registryPort}`);
  return driver.createNode(
    {
      name: REGISTRY_CONTAINER,
      hostname: REGISTRY_CONTAINER,
      image: REGISTRY_IMAGE,
      labels: { [LABELS.role]: 'registry' },
      mounts: [{ type: 'volume', source: REGISTRY_VOLUME, target: DATA_DIR }],
      ports: [{ containerPort: REGISTRY_CONTAINER_PORT, hostPort: config.cluster.registryPort, hostIp: '127.0.0.1' }],
      privileged: false,
    },
    call,
  );
}

/** Removes the registry container and its volume (its images), only what carries our labels. */
export async function removeRegistry(driver: Driver, options: CallOptions = {}): Promise<{ containers: number; volumes: number }> {
  const containers = await driver.listNodes({ role: 'registry' }, options);
  await driver.removeNodes(containers, options);
  const volumes = await driver.volumes.list({ role: 'registry' }, options);
  for (const v of volumes) await driver.volumes.remove(v.name, { role: 'registry' }, options);
  return { containers: containers.length, volumes: volumes.length };
}

export interface RegistryStatus {
  container?: { name: string; state: string; image?: string; port?: number };
  volumes: string[];
}

/** What of the registry exists on the engine. */
export async function registryStatus(driver: Driver, options: CallOptions = {}): Promise<RegistryStatus> {
  const found = await findRegistry(driver, options);
  const volumes = (await driver.volumes.list({ role: 'registry' }, options)).map((v) => v.name);
  if (!found) return { volumes };
  const port = await found.hostPort(REGISTRY_CONTAINER_PORT, options).catch(() => undefined);
  return { container: { name: found.name, state: await found.state(options), ...(found.image ? { image: found.image } : {}), ...(port !== undefined ? { port } : {}) }, volumes };
}

/** The `registry` addon, added by cluster.registry: the container on the engine, hosts.toml on every node, the KEP-1755 ConfigMap. */
export function registry(): Addon {
  return {
    apiVersion: ADDON_API_VERSION,
    kind: 'addon',
    name: 'registry',
    async preflight(ctx: EngineContext) {
      await registryPreflight(ctx.driver, ctx.config, { signal: ctx.signal });
    },
    async attach(ctx) {
      await startRegistry(ctx.driver, ctx.config, { logger: ctx.logger, cacheDir: ctx.cacheDir, signal: ctx.signal });
      if (!ctx.driver.connectNetwork) throw new DriverError(`attach ${REGISTRY_CONTAINER}`, `driver "${ctx.driver.name}" cannot attach a container to a network`);
      await ctx.driver.connectNetwork(ctx.network, REGISTRY_CONTAINER, { ip: ctx.address, signal: ctx.signal });
    },
    async install(ctx) {
      await writeRegistryHosts(ctx.nodes, [registryHosts(ctx.config)], { signal: ctx.signal });
      await ctx.apply(registryHostingManifest(ctx.config));
      ctx.logger.info(`nodes pull ${registryName(ctx.config)}/... from ${REGISTRY_CONTAINER}; push from the host: docker push ${registryName(ctx.config)}/IMAGE:TAG`);
    },
  };
}

export default registry;
