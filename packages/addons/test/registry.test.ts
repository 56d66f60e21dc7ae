import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeDriver, checkAddon } from '@local-cluster/core/testing';
import { LABELS, loadConfig, recipeProblems, registryHostsFiles, isPreflightError } from '@local-cluster/core';
import { registry, registryHostingManifest, registryHosts, registryImage, registryPreflight, removeRegistry, REGISTRY_CONTAINER, REGISTRY_VOLUME } from '../src/registry.js';

const config = (flags: Record<string, string | boolean> = {}) => loadConfig({ env: {}, flags }).config;

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('the registry addon', () => {
  it('conforms to the Addon contract; its image is a valid recipe run beside the nodes, not in them', () => {
    expect(checkAddon(registry())).toEqual([]);
    const image = registryImage();
    expect(recipeProblems(image.recipe!)).toEqual([]);
    expect(image.loadIntoNodes).toBe(false);
    expect(image.recipe!.go![0]).toMatchObject({ module: 'github.com/distribution/distribution/v3', version: 'v3.1.2', package: 'cmd/registry' });
  });

  it('sends localhost:PORT to the container on the cluster network, in a hosts.toml containerd 1.6 accepts (a [host] table)', () => {
    const [file] = registryHostsFiles(registryHosts(config({ 'registry-port': '5123' })));
    expect(file!.path).toBe('/etc/containerd/certs.d/localhost:5123/hosts.toml');
    expect(file!.content).toContain('server = "http://local-cluster-registry:5000"');
    expect(file!.content).toContain('[host."http://local-cluster-registry:5000"]\n  capabilities = ["pull", "resolve"]');
  });

  it('writes the KEP-1755 ConfigMap in kube-public', () => {
    const [cm] = registryHostingManifest(config()) as { metadata: { namespace: string; name: string }; data: Record<string, string> }[];
    expect(cm!.metadata).toEqual({ namespace: 'kube-public', name: 'local-registry-hosting' });
    expect(cm!.data['localRegistryHosting.v1']).toMatch(/^host: "localhost:5001"\n/);
    expect(cm!.data['localRegistryHosting.v1']).toContain('hostFromClusterNetwork: "local-cluster-registry:5000"');
  });

  it('preflight refuses a port in use on this host, naming cluster.registryPort', async () => {
    server = createServer();
    const port = await new Promise<number>((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port)));
    const error = await registryPreflight(fakeDriver(), config({ 'registry-port': String(port) })).catch((e: unknown) => e);
    expect(isPreflightError(error)).toBe(true);
    expect((error as Error).message).toBe(`cluster.registryPort (--registry-port) ${port} is already in use on this host (127.0.0.1).`);
  });

  it('preflight refuses a container or volume of its name that is not ours', async () => {
    for (const kind of ['container', 'volume'] as const) {
      const driver = { ...fakeDriver(), labelsOf: async (k: string, name: string) => (k === kind && name === (kind === 'container' ? REGISTRY_CONTAINER : REGISTRY_VOLUME) ? { other: 'x' } : undefined) };
      const error = await registryPreflight(driver, config({ 'registry-port': '1' })).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(new RegExp(`^cluster\\.registry \\(--registry\\): a ${kind} named "local-cluster-registry" exists on the engine and was not made by local-cluster`));
    }
  });

  it('preflight refuses a port other than the running registry\'s: one registry serves every cluster', async () => {
    const driver = fakeDriver();
    driver.addContainer({ name: REGISTRY_CONTAINER, hostname: REGISTRY_CONTAINER, image: 'r', labels: { [LABELS.role]: 'registry' }, ports: [{ containerPort: 5000, hostPort: 5001 }] });
    await expect(registryPreflight(driver, config())).resolves.toBeUndefined();
    await expect(registryPreflight(driver, config({ 'registry-port': '5002' }))).rejects.toThrow(/cluster\.registryPort \(--registry-port\) is 5002, but the local registry on this engine is published on port 5001/);
  });

  it('removes only its own container and volume', async () => {
    const driver = fakeDriver();
    driver.addContainer({ name: REGISTRY_CONTAINER, hostname: REGISTRY_CONTAINER, image: 'r', labels: { [LABELS.role]: 'registry' } });
    driver.addContainer({ name: 'node', hostname: 'kube-master', image: 'n', labels: { [LABELS.role]: 'node', [LABELS.cluster]: 'a' } });
    await driver.volumes.create(REGISTRY_VOLUME, { [LABELS.role]: 'registry' });
    await driver.volumes.create('other', { [LABELS.role]: 'volume', [LABELS.cluster]: 'a' });
    expect(await removeRegistry(driver)).toEqual({ containers: 1, volumes: 1 });
    expect([...driver.containers.keys()]).toEqual(['node']);
    expect([...driver.volumeStore.keys()]).toEqual(['other']);
  });
});
