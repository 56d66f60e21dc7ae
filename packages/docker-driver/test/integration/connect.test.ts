import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDriverError, nthAddress, type NodeHandle } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { clusterLabels, freeSubnet, removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

// `local-cluster connect`: a node of one cluster attached to another cluster's network, at the top
// of its subnet; removing that network detaches the visitor first.
const driver = dockerDriver();
const raw = new Docker();
const a = uniqueClusterName();
const b = uniqueClusterName();
let visitor: NodeHandle;
let bSubnet = '';

beforeAll(async () => {
  const image = await ensureBusyboxImage(driver);
  const aSubnet = await freeSubnet(driver);
  await driver.createNetwork({ name: `${a}-net`, subnet: aSubnet, labels: clusterLabels(a) });
  bSubnet = await freeSubnet(driver);
  await driver.createNetwork({ name: `${b}-net`, subnet: bSubnet, labels: clusterLabels(b) });
  visitor = await driver.createNode(sleeperSpec(a, image, 'kube-master', { network: `${a}-net` }));
});

afterAll(async () => {
  await removeCluster(driver, a);
  await removeCluster(driver, b);
});

describe('connectNetwork', () => {
  it("attaches a node to another cluster's network at the top of its subnet, once", async () => {
    const address = await driver.connectNetwork!(`${b}-net`, visitor.name, { selector: { cluster: b, role: 'network' } });
    const prefix = Number(bSubnet.split('/')[1]);
    expect(address).toBe(nthAddress(bSubnet, 2 ** (32 - prefix) - 2));
    const info = await raw.getContainer(visitor.id).inspect();
    expect(info.NetworkSettings.Networks[`${b}-net`]?.IPAddress).toBe(address);
    // its own address is still the one on its own network
    expect(await visitor.ip()).toBe(info.NetworkSettings.Networks[`${a}-net`]?.IPAddress);
    expect(await driver.connectNetwork!(`${b}-net`, visitor.name, { selector: { cluster: b, role: 'network' } })).toBe(address);
  });

  it('refuses a network the selector does not own', async () => {
    const error = await driver.connectNetwork!(`${b}-net`, visitor.name, { selector: { cluster: `${b}-other`, role: 'network' } }).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
  });

  it('removing the network detaches the visitor, which keeps running', async () => {
    await driver.removeNetwork(`${b}-net`, { cluster: b });
    expect(await driver.listNetworks({ cluster: b })).toEqual([]);
    const info = await raw.getContainer(visitor.id).inspect();
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`${a}-net`]);
    expect(info.State.Running).toBe(true);
  });
});
