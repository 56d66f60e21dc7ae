// Runs under the real `deno` binary: the public API of core and the Docker
// driver, imported as a package, work in Deno as they do in Node.
import assert from 'node:assert/strict';
import { isConfigError, loadConfig, listSettings } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';

Deno.test('core loads and validates a config', () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/config.yaml`;
  Deno.writeTextFileSync(file, 'cluster:\n  numNodes: 3\n  name: deno-smoke\n');
  const loaded = loadConfig({ file, env: { LOCAL_CLUSTER_DIND_SUBNET: '10.201.0.0/16' } });
  assert.deepEqual(loaded.config.cluster.numNodes, 3);
  assert.deepEqual(loaded.config.dind.subnet, '10.201.0.0/16');
  assert.deepEqual(loaded.sources['cluster.numNodes'], { kind: 'file', path: file });
  assert(listSettings().length > 10);
});

Deno.test('core rejects a bad setting with a ConfigError', () => {
  let caught: unknown;
  try {
    loadConfig({ env: { LOCAL_CLUSTER_NUM_NODES: '-1' } });
  } catch (e) {
    caught = e;
  }
  assert(isConfigError(caught));
  assert(String((caught as Error).message).includes('LOCAL_CLUSTER_NUM_NODES'));
});

Deno.test('the Docker driver lists clusters through the engine', async () => {
  const driver = dockerDriver();
  const info = await driver.info();
  assert(info.engineVersion.length > 0);
  const clusters = await driver.listClusters();
  assert(Array.isArray(clusters));
});

Deno.test('an unreachable engine is a clear error', async () => {
  const driver = dockerDriver({ host: 'unix:///nonexistent/docker.sock' });
  await assert.rejects(() => driver.info(), /not reachable at unix:\/\/\/nonexistent\/docker\.sock/);
});
