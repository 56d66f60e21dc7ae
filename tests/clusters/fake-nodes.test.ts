import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, readyNodes } from './helpers.js';

// KWOK fake nodes: `up --fake-nodes 200` adds 200 Node objects one kwok container keeps Ready;
// a Deployment tolerating their taint runs on them; `down` + `up` brings them back from the
// snapshot (the Node objects are in etcd, kwok's container is made again); `clean` leaves nothing.
// 200, not thousands: the test shows the behaviour; bench/fake-nodes.mjs measures 1000-5000
// (1000 here cost 215 CPU-seconds and 142 s of the suite against 80 and 81 s for 200).
const NAME = `kw-e2e-${process.pid}`;
const FAKE = 200;
const REPLICAS = 100;
const ARGS = ['--name', NAME, '--num-nodes', '1', '--fake-nodes', String(FAKE), '--addons', '', '--dind-subnet', '10.247.0.0/16'];
const kubectl = kubectlFor(NAME);

afterAll(async () => {
  await clean({ driver, cluster: NAME }).catch(() => undefined);
});

async function readyCount(): Promise<{ real: number; fake: number }> {
  const nodes = await kubectl('get', 'nodes', '-o', 'json');
  expect(nodes.code, nodes.stderr).toBe(0);
  const ready = readyNodes(nodes.stdout);
  return { real: ready.filter((n) => !n.startsWith('kwok-node-')).length, fake: ready.filter((n) => n.startsWith('kwok-node-')).length };
}

const DEPLOYMENT = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'on-fake-nodes', namespace: 'default' },
  spec: {
    replicas: REPLICAS,
    selector: { matchLabels: { app: 'on-fake-nodes' } },
    template: {
      metadata: { labels: { app: 'on-fake-nodes' } },
      spec: {
        nodeSelector: { type: 'kwok' },
        tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
        containers: [{ name: 'fake', image: 'registry.k8s.io/pause:3.10' }],
      },
    },
  },
};

describe('KWOK fake nodes', () => {
  it(`up --fake-nodes ${FAKE}: ${FAKE + 2} Ready nodes, a ${REPLICAS}-replica Deployment running on fake nodes, back after down + up, nothing left after clean`, async () => {
    const started = Date.now();
    const r = await cli(['up', ...ARGS]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`${FAKE} of ${FAKE} fake nodes Ready`));
    expect(await readyCount()).toEqual({ real: 2, fake: FAKE });
    const [kwok] = await driver.listNodes({ cluster: NAME, role: 'fake-nodes' });
    expect(kwok, 'the kwok container').toBeDefined();
    const labelled = await kubectl('get', 'nodes', '-l', 'type=kwok', '-o', 'jsonpath={.items[0].spec.taints[0].key}={.items[0].spec.taints[0].value}:{.items[0].spec.taints[0].effect}');
    expect(labelled.stdout).toBe('kwok.x-k8s.io/node=fake:NoSchedule');
    console.log(`up with ${FAKE} fake nodes: ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const manifest = join(mkdtempSync(join(tmpdir(), 'kw-e2e-')), 'deployment.json');
    writeFileSync(manifest, JSON.stringify(DEPLOYMENT));
    const created = await kubectl('apply', '-f', manifest);
    expect(created.code, created.stderr).toBe(0);
    const t0 = Date.now();
    let phases = '';
    await waitFor(
      `${REPLICAS} pods Running on fake nodes`,
      async () => {
        const pods = await kubectl('get', 'pods', '-l', 'app=on-fake-nodes', '-o', 'jsonpath={range .items[*]}{.status.phase}@{.spec.nodeName}{"\\n"}{end}');
        const lines = pods.stdout.trim().split('\n').filter(Boolean);
        phases = `${lines.filter((l) => l.startsWith('Running@kwok-node-')).length} of ${REPLICAS}`;
        return lines.length === REPLICAS && lines.every((l) => l.startsWith('Running@kwok-node-')) ? true : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 3000 },
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${phases} Running on fake nodes)`);
    });
    console.log(`${REPLICAS} pods Running on fake nodes in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // kwok hands out pod addresses: from the node's podCIDR or its own pool, never twice
    const ips = (await kubectl('get', 'pods', '-l', 'app=on-fake-nodes', '-o', 'jsonpath={.items[*].status.podIP}')).stdout.trim().split(' ');
    expect(new Set(ips).size).toBe(REPLICAS);

    // down + up: restored from the snapshot; the fake nodes are in etcd, kwok's container made again
    expect((await cli(['down', '--name', NAME])).code).toBe(0);
    expect(await driver.listNodes({ cluster: NAME, role: 'fake-nodes' })).toEqual([]);
    const t1 = Date.now();
    const restored = await cli(['up', ...ARGS]);
    expect(restored.code, restored.stderr.slice(-3000)).toBe(0);
    expect(restored.stdout + restored.stderr).toMatch(/restored from its snapshot/);
    expect(restored.stdout + restored.stderr).toMatch(/fake nodes were in etcd already/);
    expect(await readyCount()).toEqual({ real: 2, fake: FAKE });
    console.log(`restore with ${FAKE} fake nodes: ${((Date.now() - t1) / 1000).toFixed(0)} s`);

    const cleaned = await cli(['clean', '--name', NAME]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await leftovers(NAME)).toEqual([]);
  });
});

