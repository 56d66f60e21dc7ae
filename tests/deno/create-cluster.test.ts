// The library entry under the real `deno` binary: the same createCluster logic as the Node
// e2e test (tests/clusters/library.test.ts) brings a real cluster up, answers kubectl, and leaves
// no Docker object behind when the `await using` scope ends.
import assert from 'node:assert/strict';
import { createCluster } from 'local-cluster';
import { dockerDriver } from '@local-cluster/docker-driver';

const NAME = `deno-lib-${Deno.pid}`;

async function leftovers(driver: ReturnType<typeof dockerDriver>): Promise<number> {
  return (
    (await driver.listNodes({ cluster: NAME })).length +
    (await driver.listNetworks({ cluster: NAME })).length +
    (await driver.volumes.list({ cluster: NAME })).length +
    (await driver.images.list({ cluster: NAME })).length
  );
}

Deno.test({
  name: 'createCluster under Deno: a Ready node through kubectl, nothing left after the scope',
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const driver = dockerDriver();
    {
      await using cluster = await createCluster({ cluster: { name: NAME, numNodes: 0, addons: [] }, dind: { subnet: '10.213.0.0/16' } });
      const ready = await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}']);
      assert.equal(ready, 'True');
      assert.equal((await cluster.exec('kube-master', ['hostname'])).stdout.trim(), 'kube-master');
    }
    assert.equal(await leftovers(driver), 0);
  },
});
