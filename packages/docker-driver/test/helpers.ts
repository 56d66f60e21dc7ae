import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Driver, NodeHandle, NodeSpec } from '@local-cluster/core';
import { LABELS } from '@local-cluster/core';
import { extract as tarExtract } from 'tar-stream';

/** A cluster name unique to one test file. */
export function uniqueClusterName(): string {
  return `t-${randomBytes(4).toString('hex')}`;
}

export function clusterLabels(cluster: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABELS.cluster]: cluster, ...extra };
}

/** A busybox node that just sleeps. */
export function sleeperSpec(cluster: string, image: string, name: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name: `${cluster}-${name}`,
    hostname: name,
    image,
    labels: clusterLabels(cluster),
    cmd: ['sleep', '3600'],
    ...extra,
  };
}

/** Removes everything labelled with the cluster: what `delete` will do in core. */
export async function removeCluster(driver: Driver, cluster: string): Promise<void> {
  await driver.removeNodes(await driver.listNodes({ cluster }));
  for (const network of await driver.listNetworks({ cluster })) await driver.removeNetwork(network.name, { cluster });
  for (const volume of await driver.volumes.list({ cluster })) await driver.volumes.remove(volume.name, { cluster });
  for (const image of await driver.images.list({ cluster })) {
    for (const tag of image.tags) await driver.images.remove(tag, { cluster });
  }
}

/** Every entry of a tar stream, with contents. */
export async function readTar(stream: Readable): Promise<Map<string, { type: string; content: Buffer }>> {
  const entries = new Map<string, { type: string; content: Buffer }>();
  const extract = tarExtract();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, { type: entry.header.type ?? 'file', content: Buffer.concat(chunks) });
  }
  return entries;
}

/** Parses `a.b.c.d/n`. */
function cidr(value: string): { base: number; size: number } {
  const [ip = '', bits = '32'] = value.split('/');
  const base = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return { base, size: 2 ** (32 - Number(bits)) };
}

/** A /24 in 10.200.0.0/13 that overlaps no network on the engine. */
export async function freeSubnet(driver: Driver): Promise<string> {
  const taken = (await driver.listAllNetworks()).flatMap((n) => n.subnets).filter((s) => s.includes('.')).map(cidr);
  for (let attempt = 0; attempt < 100; attempt++) {
    const candidate = `10.${200 + Math.floor(Math.random() * 8)}.${Math.floor(Math.random() * 256)}.0/24`;
    const c = cidr(candidate);
    if (taken.every((t) => c.base + c.size <= t.base || t.base + t.size <= c.base)) return candidate;
  }
  throw new Error('no free /24 found in 10.200.0.0/13');
}

/** Waits until `check` stops throwing. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export type { NodeHandle };
