import { existsSync, statSync } from 'node:fs';
import type { Logger } from '../contracts/context.js';
import type { Driver, NodeHandle } from '../contracts/driver.js';
import { LocalClusterError } from '../errors.js';
import { importIntoNodes, loadImagesIntoNodes } from '../images/factory.js';
import { clusterDir } from './context.js';
import { adminKubeconfigFile, upCommandFor } from './naming.js';
import { isServicesNode } from './services.js';

/** The running nodes of a cluster, or an error naming `up`. */
export async function runningNodes(driver: Driver, cluster: string, signal?: AbortSignal): Promise<NodeHandle[]> {
  const nodes = await driver.listNodes({ cluster, role: 'node' }, signal ? { signal } : {});
  const states = await Promise.all(nodes.map((n) => n.state(signal ? { signal } : {})));
  if (nodes.length === 0 || states.some((s) => s !== 'running')) {
    throw new LocalClusterError(`Cluster "${cluster}" is not up.`, { hint: `Run \`${upCommandFor(cluster)}\` first.` });
  }
  return nodes;
}

/** The running nodes images can be loaded into: a services-mode cluster has none. */
async function imageNodes(driver: Driver, cluster: string, signal?: AbortSignal): Promise<NodeHandle[]> {
  const nodes = await runningNodes(driver, cluster, signal);
  if (nodes.some((n) => isServicesNode(n.labels))) {
    throw new LocalClusterError(`Cluster "${cluster}" runs in services mode: it has no nodes and no container runtime to load images into; nothing was loaded.`, {
      hint: 'Load images into a cluster of nodes (brought up without --mode services).',
    });
  }
  return nodes;
}

/** The cluster's admin kubeconfig on the host, or an error naming `up`. */
export function requireKubeconfig(home: string, cluster: string): string {
  const file = adminKubeconfigFile(clusterDir(home, cluster));
  if (!existsSync(file)) throw new LocalClusterError(`Cluster "${cluster}" has no kubeconfig (${file}).`, { hint: `Run \`${upCommandFor(cluster)}\` first.` });
  return file;
}

export interface LoadOptions {
  driver: Driver;
  cluster: string;
  /** Where the archive of the images is written on its way to the nodes. */
  cacheDir: string;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * Makes images of the engine runnable on every node (containerd, namespace
 * k8s.io) without a registry, like `kind load docker-image`: pods use them
 * with `imagePullPolicy: Never` or IfNotPresent. Every image is checked first:
 * nothing is loaded if one is missing.
 */
export async function loadImages(refs: readonly string[], options: LoadOptions): Promise<void> {
  const { driver, signal } = options;
  if (refs.length === 0) throw new LocalClusterError('No image named.', { hint: 'Usage: local-cluster load image IMAGE [IMAGE...]' });
  const missing: string[] = [];
  for (const ref of refs) if (!(await driver.images.inspect(ref, { signal }))) missing.push(ref);
  if (missing.length) {
    throw new LocalClusterError(`The engine has no image ${missing.join(', ')}: nothing was loaded.`, {
      hint: 'Build or load it into the engine first (docker build -t NAME ., docker load -i FILE), then run `local-cluster load image` again.',
    });
  }
  const nodes = await imageNodes(driver, options.cluster, signal);
  await loadImagesIntoNodes(driver, nodes, refs, options);
}

/** Imports an image archive (`docker save` / OCI tar) into every node's containerd. */
export async function loadArchive(file: string, options: Omit<LoadOptions, 'cacheDir'>): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new LocalClusterError(`Image archive ${file} does not exist: nothing was loaded.`, { hint: 'Give the path of a tar made by `docker save` or an OCI image archive.' });
  }
  const nodes = await imageNodes(options.driver, options.cluster, options.signal);
  const started = performance.now();
  await importIntoNodes(nodes, file, { signal: options.signal, hint: 'The file must be an image archive made by `docker save` or an OCI image layout tar.' });
  options.logger.info(`imported ${file} into ${nodes.length} node(s) in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
