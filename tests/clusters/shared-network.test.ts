import { afterAll, describe, expect, it } from 'vitest';
import { clean } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, run } from './helpers.js';
import { controlPlaneIp, probePod, webBehindNodePort } from './cross-cluster.js';

// Two clusters on one shared Docker network (dind.network), each on its own address block: a pod
// of the first reads the second's API server /version and a NodePort Service of the second. A third
// cluster asking for the first one's block is refused, naming both, before anything is made.
const NET = `kc-net-${process.pid}`;
const ONE = `kc-s1-${process.pid}`;
const TWO = `kc-s2-${process.pid}`;
const BAD = `kc-s3-${process.pid}`;
const inOne = kubectlFor(ONE);
const inTwo = kubectlFor(TWO);

afterAll(async () => {
  for (const name of [BAD, TWO, ONE]) await clean({ driver, cluster: name }).catch(() => undefined);
});

const internalIp = controlPlaneIp;

const networkExists = async () => (await run('docker', ['network', 'inspect', NET])).code === 0;

describe('clusters on one shared network', () => {
  let oneBlock = '';

  it('two clusters come up on it, each on a block of its own (the second a free one)', async () => {
    // the first names its block (the suite's files each keep to ranges of their own); the second takes a free one
    const one = await cli(['up', '--name', ONE, '--num-nodes', '0', '--addons', '', '--dind-network', NET, '--dind-subnet', '10.246.0.0/24']);
    expect(one.code, one.stderr.slice(-3000)).toBe(0);
    expect(one.stdout + one.stderr).toContain(`made shared network ${NET} (10.246.0.0/16), address block 10.246.0.0/24`);
    const two = await cli(['up', '--name', TWO, '--num-nodes', '0', '--addons', '', '--dind-network', NET, '--pod-subnet', '10.245.0.0/16']);
    expect(two.code, two.stderr.slice(-3000)).toBe(0);
    const [ipOne, ipTwo] = [await internalIp(inOne), await internalIp(inTwo)];
    oneBlock = ipOne.replace(/\.\d+$/, '.0/24');
    expect(oneBlock).toBe('10.246.0.0/24');
    expect(ipTwo).toBe('10.246.1.2');
  });

  it('a third cluster asking for the first one\'s block is refused naming both, and nothing is made', async () => {
    const r = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', '', '--dind-network', NET, '--dind-subnet', oneBlock]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Clusters "${BAD}" and "${ONE}" ask for overlapping address blocks on dind.network "${NET}": ${oneBlock} and ${oneBlock}.`);
    expect(await leftovers(BAD)).toEqual([]);
  });

  it("a pod of the first reads the second's API server /version and its NodePort", async () => {
    await webBehindNodePort(inTwo, TWO, 30082);
    await probePod(inOne);
    const twoIp = await internalIp(inTwo);
    const version = await inOne('exec', 'probe', '--', 'wget', '--no-check-certificate', '-qO-', `https://${twoIp}:6443/version`);
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ major: '1', minor: '34' });
    expect((await inOne('exec', 'probe', '--', 'wget', '-qO-', `http://${twoIp}:30082/`)).stdout).toBe(`hello from ${TWO}\n`);
  });

  it('a cluster that is down keeps its block, and comes back on it from its snapshot', async () => {
    expect((await cli(['down', '--name', ONE])).code).toBe(0);
    const r = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', '', '--dind-network', NET, '--dind-subnet', oneBlock]);
    expect(r.stderr).toContain(`Clusters "${BAD}" and "${ONE}" ask for overlapping address blocks`);
    const again = await cli(['up', '--name', ONE, '--num-nodes', '0', '--addons', '', '--dind-network', NET]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.stdout).toContain('restored from its snapshot');
    expect((await internalIp(inOne)).replace(/\.\d+$/, '.0/24')).toBe(oneBlock);
  });

  it('the network stays while a cluster is on it and goes with the last one', async () => {
    expect((await cli(['clean', '--name', ONE])).code).toBe(0);
    expect(await leftovers(ONE)).toEqual([]);
    expect(await networkExists()).toBe(true);
    expect((await cli(['clean', '--name', TWO])).code).toBe(0);
    expect(await leftovers(TWO)).toEqual([]);
    expect(await networkExists()).toBe(false);
  });
});
