import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDriverError, LABELS } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { busyboxRootfs, ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { clusterLabels, eventually, readTar, removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const raw = new Docker();
const cluster = uniqueClusterName();
const imported = `local-cluster-test/${cluster}-imported:v1`;
const snapshot = `local-cluster-test/${cluster}-snapshot:v1`;
const foreign = `local-cluster-test/${cluster}-foreign:v1`;
let busybox: string;

beforeAll(async () => {
  busybox = await ensureBusyboxImage(driver);
});

afterAll(async () => {
  await raw.getImage(foreign).remove().catch(() => undefined);
  await removeCluster(driver, cluster);
});

describe('images', () => {
  it('knows the fixture image and its labels', async () => {
    expect(await driver.images.has(busybox)).toBe(true);
    const info = await driver.images.inspect(busybox);
    expect(info?.tags).toContain(busybox);
    expect(info?.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.role]: 'test' });
    expect(info?.size).toBeGreaterThan(1_000_000);
    expect(await driver.images.has('local-cluster-test/missing:none')).toBe(false);
    expect(await driver.images.inspect('local-cluster-test/missing:none')).toBeUndefined();
  });

  it('imports a rootfs with entrypoint, cmd, env, workdir, stop signal and labels', async () => {
    const rootfs = await busyboxRootfs();
    const info = await driver.images.importRootfs(rootfs.tar(), imported, {
      labels: clusterLabels(cluster, { 'test.quoting': 'a "quoted" $HOME value' }),
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['echo "$GREETING from $(pwd)"; exec sleep 3600'],
      env: { GREETING: 'hello world', PATH: '/bin' },
      workdir: '/tmp',
      stopSignal: 'SIGRTMIN+3',
    });
    expect(info.tags).toEqual([imported]);
    expect(info.labels).toEqual({
      [LABELS.managed]: 'true',
      [LABELS.cluster]: cluster,
      [LABELS.role]: 'image',
      'test.quoting': 'a "quoted" $HOME value',
    });
    const config = (await raw.getImage(imported).inspect()).Config as { StopSignal?: string; WorkingDir: string };
    expect(config.StopSignal).toBe('SIGRTMIN+3');
    expect(config.WorkingDir).toBe('/tmp');

    const node = await driver.createNode({ name: `${cluster}-imported`, hostname: 'imported', image: imported, labels: clusterLabels(cluster) });
    expect(await eventually(async () => {
      const logs = await node.logs();
      if (!logs) throw new Error('no output yet');
      return logs;
    })).toBe('hello world from /tmp\n');
  });

  it('rejects a stream that is not a tar', async () => {
    const error: unknown = await driver.images
      .importRootfs(Readable.from([Buffer.from('this is not a tar archive')]), `local-cluster-test/${cluster}-bad:v1`, {
        labels: clusterLabels(cluster),
      })
      .catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
  });

  it('saves images as a docker-archive stream', async () => {
    const stream = await driver.images.save([busybox]);
    let bytes = 0;
    const counted = new Readable({ read() {} });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      counted.push(chunk);
    });
    stream.on('end', () => counted.push(null));
    const entries = await readTar(counted);
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(entries.has('manifest.json')).toBe(true);
    const manifest = JSON.parse(entries.get('manifest.json')?.content.toString() ?? '[]') as { RepoTags: string[] }[];
    expect(manifest[0]?.RepoTags).toEqual([busybox]);
  });

  it('commits a node into a snapshot that runs', async () => {
    const node = await driver.createNode(sleeperSpec(cluster, busybox, 'to-commit'));
    await node.exec(['sh', '-c', 'echo committed > /etc/marker']);
    const info = await driver.images.commit(node, snapshot, clusterLabels(cluster, { [LABELS.configHash]: 'abc123' }));
    expect(info.tags).toEqual([snapshot]);
    expect(info.labels).toMatchObject({
      [LABELS.managed]: 'true',
      [LABELS.cluster]: cluster,
      [LABELS.role]: 'snapshot',
      [LABELS.configHash]: 'abc123',
    });
    const restored = await driver.createNode(sleeperSpec(cluster, snapshot, 'restored'));
    expect((await restored.exec(['cat', '/etc/marker'])).stdout).toBe('committed\n');
    const summary = (await driver.listClusters()).find((c) => c.name === cluster);
    expect(summary?.snapshots).toBe(1);
  });

  it('lists by label', async () => {
    const all = await driver.images.list({ cluster });
    expect(all.flatMap((i) => i.tags).sort()).toEqual([imported, snapshot].sort());
    const snapshots = await driver.images.list({ cluster, role: 'snapshot' });
    expect(snapshots.flatMap((i) => i.tags)).toEqual([snapshot]);
    expect((await driver.images.list({ role: 'test' })).flatMap((i) => i.tags)).toContain(busybox);
  });

  it('refuses to remove images it does not own or that belong to another cluster', async () => {
    await raw.importImage(Readable.from([Buffer.alloc(1024)]), { repo: foreign.split(':')[0], tag: 'v1' }).then(
      (stream) => new Promise((resolve) => (stream.on('end', resolve), stream.resume())),
    );
    await eventually(async () => raw.getImage(foreign).inspect());
    const error: unknown = await driver.images.remove(foreign, { cluster }).catch((e: unknown) => e);
    expect(isDriverError(error)).toBe(true);
    expect((error as Error).message).toContain('refusing');
    expect(await driver.images.has(foreign)).toBe(true);

    const other: unknown = await driver.images.remove(imported, { cluster: `${cluster}-other` }).catch((e: unknown) => e);
    expect(isDriverError(other)).toBe(true);
    expect(await driver.images.has(imported)).toBe(true);
  });

  it('removes its own images; a missing one is a no-op', async () => {
    await driver.removeNodes(await driver.listNodes({ cluster }));
    await driver.images.remove(snapshot, { cluster, role: 'snapshot' });
    await driver.images.remove(imported, { cluster });
    expect(await driver.images.has(snapshot)).toBe(false);
    expect(await driver.images.list({ cluster })).toEqual([]);
    await driver.images.remove(imported, { cluster });
  });
});
