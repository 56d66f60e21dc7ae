import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDriverError, LABELS } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { clusterLabels, freeSubnet, removeCluster, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const raw = new Docker();
const cluster = uniqueClusterName();
const foreignName = `${cluster}-foreign`;

beforeAll(async () => {
  await driver.info();
});

afterAll(async () => {
  await raw.getNetwork(foreignName).remove().catch(() => undefined);
  await removeCluster(driver, cluster);
});

describe('networks', () => {
  let subnet: string;
  const name = `${cluster}-net`;

  it('creates a bridge network with a subnet and ownership labels', async () => {
    subnet = await freeSubnet(driver);
    const network = await driver.createNetwork({ name, subnet, labels: clusterLabels(cluster) });
    expect(network.name).toBe(name);
    expect(network.subnets).toEqual([subnet]);
    expect(network.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.cluster]: cluster, [LABELS.role]: 'network' });
    const inspected = (await raw.getNetwork(name).inspect()) as { Driver: string; Options: Record<string, string> };
    expect(inspected.Driver).toBe('bridge');
    expect(inspected.Options['com.docker.network.bridge.enable_icc']).toBe('true');
  });

  it('lists it by label, and everything for overlap checks', async () => {
    expect((await driver.listNetworks({ cluster })).map((n) => n.name)).toEqual([name]);
    expect(await driver.listNetworks({ cluster: `${cluster}-other` })).toEqual([]);
    const all = await driver.listAllNetworks();
    expect(all.map((n) => n.name)).toEqual(expect.arrayContaining(['bridge', name]));
    expect(all.find((n) => n.name === name)?.subnets).toEqual([subnet]);
  });

  it('refuses to create a network that overlaps', async () => {
    const error: unknown = await driver.createNetwork({ name: `${cluster}-dup`, subnet, labels: clusterLabels(cluster) }).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
  });

  it('refuses to remove a network it does not own, which survives', async () => {
    await raw.createNetwork({ Name: foreignName, Driver: 'bridge' });
    const error: unknown = await driver.removeNetwork(foreignName, { cluster }).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
    expect((error as Error).message).toContain('refusing');
    expect(((await raw.getNetwork(foreignName).inspect()) as { Name: string }).Name).toBe(foreignName);
  });

  it('refuses to remove a network of another cluster', async () => {
    const error: unknown = await driver.removeNetwork(name, { cluster: `${cluster}-other` }).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
    expect(await driver.listNetworks({ cluster })).toHaveLength(1);
  });

  it('removes its own network, and removing again is a no-op', async () => {
    await driver.removeNetwork(name, { cluster });
    expect(await driver.listNetworks({ cluster })).toEqual([]);
    await driver.removeNetwork(name, { cluster });
  });
});
