import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAbortedError, isDriverError, LABELS, type NodeHandle } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { clusterLabels, eventually, freeSubnet, removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const raw = new Docker();
const cluster = uniqueClusterName();
const network = `${cluster}-net`;
let image: string;
let subnet: string;
let master: NodeHandle;
let worker: NodeHandle;

beforeAll(async () => {
  image = await ensureBusyboxImage(driver);
  subnet = await freeSubnet(driver);
  await driver.createNetwork({ name: network, subnet, labels: clusterLabels(cluster) });
  const prefix = subnet.replace(/\.0\/24$/, '');
  [master, worker] = await Promise.all([
    driver.createNode(
      sleeperSpec(cluster, image, 'kube-master', {
        network,
        ip: `${prefix}.10`,
        labels: clusterLabels(cluster, { [LABELS.nodeRole]: 'control-plane' }),
        cmd: ['sh', '-c', 'echo node started; exec sleep 3600'],
      }),
    ),
    driver.createNode(
      sleeperSpec(cluster, image, 'kube-node-1', {
        network,
        labels: clusterLabels(cluster, { [LABELS.nodeRole]: 'worker' }),
        mounts: [{ type: 'volume', source: `${cluster}-data`, target: '/data' }],
        env: { GREETING: 'hi there' },
      }),
    ),
  ]);
});

afterAll(async () => {
  await removeCluster(driver, cluster);
});

describe('node containers', () => {
  it('hands back a handle with identity, labels and role', () => {
    expect(master.name).toBe(`${cluster}-kube-master`);
    expect(master.hostname).toBe('kube-master');
    expect(master.cluster).toBe(cluster);
    expect(master.role).toBe('control-plane');
    expect(worker.role).toBe('worker');
    expect(master.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.cluster]: cluster, [LABELS.role]: 'node' });
  });

  it('sets hostname, fixed IP, env and state', async () => {
    expect((await master.exec(['hostname'])).stdout.trim()).toBe('kube-master');
    expect(await master.ip()).toBe(subnet.replace(/0\/24$/, '10'));
    expect(await worker.ip()).toMatch(new RegExp(`^${subnet.replace(/\.0\/24$/, '').replace(/\./g, '\\.')}\\.\\d+$`));
    expect((await worker.exec(['sh', '-c', 'echo $GREETING'])).stdout).toBe('hi there\n');
    expect(await master.state()).toBe('running');
  });

  it('resolves another node by hostname on the network', async () => {
    const result = await worker.exec(['ping', '-c1', '-W5', 'kube-master']);
    expect(result.stdout).toContain(await master.ip());
    const lookup = await master.exec(['nslookup', 'kube-node-1']);
    expect(lookup.stdout).toContain(await worker.ip());
  });

  it('creates the named volume a node mounts, labelled for the cluster', async () => {
    const volumes = await driver.volumes.list({ cluster });
    expect(volumes.map((v) => v.name)).toEqual([`${cluster}-data`]);
    await worker.exec(['sh', '-c', 'echo kept > /data/file']);
  });

  it('lists nodes strictly by label', async () => {
    expect((await driver.listNodes({ cluster })).map((n) => n.name)).toEqual([master.name, worker.name]);
    expect((await driver.listNodes({ cluster, labels: { [LABELS.nodeRole]: 'worker' } })).map((n) => n.hostname)).toEqual([
      'kube-node-1',
    ]);
    expect(await driver.listNodes({ cluster: `${cluster}-other` })).toEqual([]);
  });

  it('publishes ports on random host ports', async () => {
    const web = await driver.createNode(
      sleeperSpec(cluster, image, 'web', {
        ports: [{ containerPort: 8080 }],
        cmd: ['sh', '-c', 'mkdir -p /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www'],
      }),
    );
    const port = await web.hostPort(8080);
    expect(port).toBeGreaterThan(0);
    expect(await web.hostPort(9999)).toBeUndefined();
    const body = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      return response.text();
    });
    expect(body).toBe('served\n');
  });

  it('stops, starts and reads logs', async () => {
    expect(await master.logs()).toContain('node started');
    await master.stop({ timeoutSeconds: 1 });
    expect(await master.state()).toBe('exited');
    await master.stop();
    await master.start();
    expect(await master.state()).toBe('running');
    await master.start();
  });

  it('runs privileged nodes with the detected security mode', async () => {
    const { securityMode } = await driver.info();
    const node = await driver.createNode(sleeperSpec(cluster, image, 'privileged', { privileged: true, network }));
    const inspected = await raw.getContainer(node.id).inspect();
    const hostConfig = inspected.HostConfig as typeof inspected.HostConfig & { CgroupnsMode?: string };
    expect(hostConfig.Privileged).toBe(securityMode === 'privileged');
    expect(hostConfig.CgroupnsMode).toBe('private');
    // CAP_SYS_ADMIN (bit 21) either way; /dev/kmsg for the kubelet; tmpfs /run; a volume on /var.
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec((await node.exec(['cat', '/proc/1/status'])).stdout)?.[1] ?? '0';
    expect((BigInt(`0x${capEff}`) >> 21n) & 1n).toBe(1n);
    await node.exec(['test', '-c', '/dev/kmsg']);
    const mounts = (await node.exec(['cat', '/proc/mounts'])).stdout;
    expect(mounts).toMatch(/^tmpfs \/run tmpfs/m);
    expect(mounts).toMatch(/ \/var \w+/);
    expect(mounts).not.toMatch(/ \/proc\/kcore /);
    expect(mounts).not.toMatch(/ \/proc\/sys proc ro/);
    await node.exec(['mount', '-o', 'remount,rw', '/sys']);
    const anonymous = inspected.Mounts.find((m) => m.Destination === '/var')?.Name;
    expect(anonymous).toBeTruthy();

    await driver.removeNodes([node]);
    expect((await driver.listNodes({ cluster })).map((n) => n.hostname)).not.toContain('privileged');
    const volumeGone: unknown = await raw.getVolume(anonymous ?? '').inspect().catch((e: { statusCode?: number }) => e.statusCode);
    expect(volumeGone).toBe(404);
  });

  it('creates nothing when the signal has already fired', async () => {
    const spec = sleeperSpec(cluster, image, 'aborted');
    const error: unknown = await driver.createNode(spec, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect((await raw.listContainers({ all: true, filters: { name: [spec.name] } })).length).toBe(0);
  });

  it('removes the container it created when the signal fires during creation', async () => {
    const spec = sleeperSpec(cluster, image, 'aborted-late');
    const controller = new AbortController();
    // The create request is on the wire before this line runs; the abort is seen when it returns.
    const creating = driver.createNode(spec, { signal: controller.signal });
    controller.abort();
    const error: unknown = await creating.catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect((await raw.listContainers({ all: true, filters: { name: [spec.name] } })).length).toBe(0);
  });

  it('removes nothing that is not its own', async () => {
    const foreign = await raw.createContainer({ Image: image, Cmd: ['true'], name: `${cluster}-foreign` });
    try {
      const fake = { ...worker, id: foreign.id, name: `${cluster}-foreign` } as NodeHandle;
      const error: unknown = await driver.removeNodes([fake]).catch((e: unknown) => e);
      expect(isDriverError(error)).toBe(true);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
    } finally {
      await foreign.remove({ force: true });
    }
  });

  it('summarises the cluster from labels', async () => {
    const summary = (await driver.listClusters()).find((c) => c.name === cluster);
    expect(summary).toBeDefined();
    expect(summary?.networks).toEqual([network]);
    expect(summary?.volumes).toBe(1);
    expect(summary?.nodes.map((n) => [n.hostname, n.role, n.state])).toEqual([
      ['kube-master', 'control-plane', 'running'],
      ['kube-node-1', 'worker', 'running'],
      ['web', undefined, 'running'],
    ]);
  });
});
