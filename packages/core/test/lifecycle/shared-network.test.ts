import { describe, expect, it } from 'vitest';
import { configSchema, connectClusters, isConfigError, isPreflightError, LABELS, loadConfig } from '../../src/index.js';
import { fakeDriver } from '../../src/testing/index.js';
import { checkSharedBlock, freeBlock, sharedNetworkLabels, sharedRangeFor, withSharedBlock } from '../../src/lifecycle/shared-network.js';

const config = (cluster: string, subnet: string, network = 'lab') => configSchema.parse({ cluster: { name: cluster }, dind: { subnet, network } });

/** A fake engine with the shared network `lab` (10.50.0.0/16) and cluster "one"'s node on block 10.50.0.0/24. */
async function engineWithOne() {
  const driver = fakeDriver();
  await driver.createNetwork({ name: 'lab', subnet: '10.50.0.0/16', labels: { [LABELS.managed]: 'true', [LABELS.role]: 'network', [LABELS.sharedNetwork]: 'lab' } });
  await driver.createNode({
    name: 'local-cluster-one-kube-master',
    hostname: 'kube-master',
    image: 'node',
    network: 'lab',
    labels: { [LABELS.managed]: 'true', [LABELS.cluster]: 'one', [LABELS.role]: 'node', ...sharedNetworkLabels(config('one', '10.50.0.0/24')) },
  } as never);
  return driver;
}

describe('dind.network address blocks', () => {
  it('a shared network spans the /16 around its first block; free blocks are /24s', () => {
    expect(sharedRangeFor('10.50.3.0/24')).toBe('10.50.0.0/16');
    expect(sharedRangeFor('10.50.0.0/16')).toBe('10.50.0.0/16');
    expect(freeBlock('10.50.0.0/16', [])).toBe('10.50.0.0/24');
    expect(freeBlock('10.50.0.0/16', ['10.50.0.0/24', '10.50.1.0/24'])).toBe('10.50.2.0/24');
    expect(freeBlock('10.50.0.0/24', ['10.50.0.0/24'])).toBeUndefined();
  });

  it('refuses a block that overlaps another cluster\'s on the network, naming both clusters', async () => {
    const driver = await engineWithOne();
    const error = await checkSharedBlock(config('two', '10.50.0.0/24'), driver).catch((e: unknown) => e);
    expect(isPreflightError(error)).toBe(true);
    expect((error as Error).message).toBe('Clusters "two" and "one" ask for overlapping address blocks on dind.network "lab": 10.50.0.0/24 and 10.50.0.0/24.');
    await expect(checkSharedBlock(config('two', '10.50.1.0/24'), driver)).resolves.toBeUndefined();
    // its own block is no clash (a cluster coming back)
    await expect(checkSharedBlock(config('one', '10.50.0.0/24'), driver)).resolves.toBeUndefined();
    await expect(checkSharedBlock(config('two', '10.51.0.0/24'), driver)).rejects.toThrow(/dind\.subnet 10\.51\.0\.0\/24 of cluster "two" lies outside dind\.network "lab" \(10\.50\.0\.0\/16\)/);
  });

  it('a cluster that is down holds its block by its snapshot, and gets it back', async () => {
    const driver = await engineWithOne();
    driver.addImage('local-cluster/snapshot-three', { [LABELS.managed]: 'true', [LABELS.cluster]: 'three', [LABELS.role]: 'snapshot', ...sharedNetworkLabels(config('three', '10.50.7.0/24')) });
    await expect(checkSharedBlock(config('two', '10.50.7.0/24'), driver)).rejects.toThrow('Clusters "two" and "three" ask for overlapping address blocks on dind.network "lab": 10.50.7.0/24 and 10.50.7.0/24.');
    const three = loadConfig({ env: {}, flags: { name: 'three', 'dind-network': 'lab' } });
    expect((await withSharedBlock(three, driver)).config.dind.subnet).toBe('10.50.7.0/24');
  });

  it('gives a cluster that left dind.subnet unset the first free block', async () => {
    const driver = await engineWithOne();
    const loaded = loadConfig({ env: {}, flags: { name: 'two', 'dind-network': 'lab' } });
    expect((await withSharedBlock(loaded, driver)).config.dind.subnet).toBe('10.50.1.0/24');
    // a block the user chose is kept for preflight to judge
    const chosen = loadConfig({ env: {}, flags: { name: 'two', 'dind-network': 'lab', 'dind-subnet': '10.50.0.0/24' } });
    expect((await withSharedBlock(chosen, driver)).config.dind.subnet).toBe('10.50.0.0/24');
  });

  it('refuses a network name that is a cluster\'s own', () => {
    expect(() => loadConfig({ env: {}, flags: { 'dind-network': 'local-cluster-x' } })).toThrow(/dind\.network.*starts with "local-cluster-"/);
  });
});

describe('connect', () => {
  it('refuses a cluster that does not exist, naming it, before changing anything', async () => {
    const driver = await engineWithOne();
    const error = await connectClusters({ driver, clusters: ['one', 'nowhere'] }).catch((e: unknown) => e);
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toBe('Cluster "nowhere" does not exist: no node containers carry its labels.');
    expect(driver.calls.filter((c) => c.startsWith('connect'))).toEqual([]);
    await expect(connectClusters({ driver, clusters: ['one', 'one'] })).rejects.toThrow('Cannot connect cluster "one" to itself.');
  });
});
