import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { isDriverError, LABELS } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { clusterLabels, removeCluster, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const raw = new Docker();
const cluster = uniqueClusterName();
const name = `${cluster}-data`;
const foreignName = `${cluster}-foreign`;

afterAll(async () => {
  await raw.getVolume(foreignName).remove().catch(() => undefined);
  await removeCluster(driver, cluster);
});

describe('volumes', () => {
  it('creates a volume with ownership labels; creating it again is fine', async () => {
    const volume = await driver.volumes.create(name, clusterLabels(cluster));
    expect(volume).toEqual({
      name,
      labels: { [LABELS.managed]: 'true', [LABELS.cluster]: cluster, [LABELS.role]: 'volume' },
    });
    expect(await driver.volumes.create(name, clusterLabels(cluster))).toEqual(volume);
  });

  it('lists by selector', async () => {
    expect((await driver.volumes.list({ cluster })).map((v) => v.name)).toEqual([name]);
    expect(await driver.volumes.list({ cluster, role: 'snapshot' })).toEqual([]);
    expect(await driver.volumes.list({ cluster: `${cluster}-other` })).toEqual([]);
  });

  it('refuses to take over or remove a volume it does not own', async () => {
    await raw.createVolume({ Name: foreignName });
    const create: unknown = await driver.volumes.create(foreignName, clusterLabels(cluster)).catch((e: unknown) => e);
    expect(isDriverError(create)).toBe(true);
    const remove: unknown = await driver.volumes.remove(foreignName, { cluster }).catch((e: unknown) => e);
    expect(isDriverError(remove)).toBe(true);
    expect((remove as Error).message).toContain('refusing');
    expect(((await raw.getVolume(foreignName).inspect()) as { Name: string }).Name).toBe(foreignName);
  });

  it('removes its own volume; removing again is a no-op', async () => {
    await driver.volumes.remove(name, { cluster });
    expect(await driver.volumes.list({ cluster })).toEqual([]);
    await driver.volumes.remove(name, { cluster });
  });
});
