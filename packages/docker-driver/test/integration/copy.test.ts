import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDriverError, type NodeHandle } from '@local-cluster/core';
import { pack as tarPack } from 'tar-stream';
import { dockerDriver } from '../../src/index.js';
import { ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { readTar, removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const cluster = uniqueClusterName();
let node: NodeHandle;

beforeAll(async () => {
  const image = await ensureBusyboxImage(driver);
  node = await driver.createNode(sleeperSpec(cluster, image, 'copy'));
});

afterAll(async () => {
  await removeCluster(driver, cluster);
});

function tarOf(files: Record<string, string>, modes: Record<string, number> = {}): Readable {
  const pack = tarPack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: modes[name] ?? 0o644 }, content);
  pack.finalize();
  return Readable.from(pack);
}

describe('copyIn and copyOut', () => {
  it('extracts a tar into a directory', async () => {
    await node.copyIn('/tmp', tarOf({ 'hello.txt': 'hello from the host\n', 'sub/run.sh': '#!/bin/sh\necho ran\n' }, { 'sub/run.sh': 0o755 }));
    expect((await node.exec(['cat', '/tmp/hello.txt'])).stdout).toBe('hello from the host\n');
    expect((await node.exec(['/tmp/sub/run.sh'])).stdout).toBe('ran\n');
  });

  it('returns a file as a tar stream', async () => {
    await node.exec(['sh', '-c', 'printf "line one\\nline two\\n" > /tmp/out.txt']);
    const entries = await readTar(await node.copyOut('/tmp/out.txt'));
    expect([...entries.keys()]).toEqual(['out.txt']);
    expect(entries.get('out.txt')?.content.toString()).toBe('line one\nline two\n');
  });

  it('returns a directory with its contents', async () => {
    await node.exec(['sh', '-c', 'mkdir -p /tmp/tree/a && echo leaf > /tmp/tree/a/leaf']);
    const entries = await readTar(await node.copyOut('/tmp/tree'));
    expect(entries.get('tree/')?.type).toBe('directory');
    expect(entries.get('tree/a/leaf')?.content.toString()).toBe('leaf\n');
  });

  it('fails with a DriverError (404) for missing paths', async () => {
    const into: unknown = await node.copyIn('/no/such/dir', tarOf({ f: 'x' })).catch((e: unknown) => e);
    expect(isDriverError(into) && into.statusCode).toBe(404);
    const out: unknown = await node.copyOut('/no/such/file').catch((e: unknown) => e);
    expect(isDriverError(out) && out.statusCode).toBe(404);
  });
});
