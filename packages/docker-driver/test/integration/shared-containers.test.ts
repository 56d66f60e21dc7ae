import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDriverError, LABELS } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { clusterLabels, freeSubnet, removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

// A container of ours shared by clusters (the local registry): attached to a cluster's network
// at a fixed address, found by name whoever made it (labelsOf), detached when that network goes.
const driver = dockerDriver();
const raw = new Docker();
const cluster = uniqueClusterName();
const shared = `${cluster}-shared`;
const stranger = `${cluster}-stranger`;
const network = `${cluster}-net`;
let image: string;
let subnet: string;

beforeAll(async () => {
  image = await ensureBusyboxImage(driver);
  subnet = await freeSubnet(driver);
  await driver.createNetwork({ name: network, subnet, labels: clusterLabels(cluster) });
});

afterAll(async () => {
  await raw.getContainer(stranger).remove({ force: true }).catch(() => undefined);
  await driver.removeNodes(await driver.listNodes({ role: 'registry', labels: { [LABELS.cluster]: cluster } })).catch(() => undefined);
  await raw.getContainer(shared).remove({ force: true }).catch(() => undefined);
  await removeCluster(driver, cluster);
});

describe('containers shared by clusters', () => {
  it('labelsOf tells ours from a stranger\'s, and nothing from a missing name', async () => {
    await driver.createNode({ ...sleeperSpec(cluster, image, 'shared'), name: shared, labels: { ...clusterLabels(cluster), [LABELS.role]: 'registry' } });
    await raw.createContainer({ name: stranger, Image: image, Cmd: ['sleep', '1'], Labels: { other: 'x' } });
    expect(await driver.labelsOf!('container', shared)).toMatchObject({ [LABELS.managed]: 'true', [LABELS.role]: 'registry' });
    // made by hand from one of our images: it inherits the image's labels (managed=true, role=test), not a container role
    expect(await driver.labelsOf!('container', stranger)).toMatchObject({ other: 'x' });
    expect((await driver.labelsOf!('container', stranger))?.[LABELS.role]).not.toBe('registry');
    expect(await driver.labelsOf!('container', `${cluster}-missing`)).toBeUndefined();
    expect(await driver.labelsOf!('volume', `${cluster}-missing`)).toBeUndefined();
  });

  it('attaches ours to a network at a fixed address, once; refuses a stranger', async () => {
    const ip = subnet.replace(/\.0\/\d+$/, '.200');
    await driver.connectNetwork!(network, shared, { ip });
    await driver.connectNetwork!(network, shared, { ip });
    const info = await raw.getContainer(shared).inspect();
    expect(info.NetworkSettings.Networks[network]?.IPAddress).toBe(ip);
    const error = await driver.connectNetwork!(network, stranger).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
    expect((error as Error).message).toContain('refusing');
  });

  it('removing the network detaches ours first (the engine would refuse: active endpoints); the container stays', async () => {
    await driver.removeNetwork(network, { cluster });
    expect(await driver.listNetworks({ cluster })).toEqual([]);
    const info = await raw.getContainer(shared).inspect();
    expect(info.State.Running).toBe(true);
    expect(Object.keys(info.NetworkSettings.Networks)).not.toContain(network);
  });
});
