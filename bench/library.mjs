// Benchmark: what a test harness waits for. createCluster fresh (1 node, bridge, no addons),
// from its snapshot after dispose('down'), and attaching to a running cluster (reuse); then the
// e2e framework's per-test namespace: 20 made and deleted, each timed. JSON on stdout.
//   node bench/library.mjs [--namespaces N]
import { parseArgs } from 'node:util';
import { clean } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { createCluster } from 'local-cluster';
import { environment } from 'local-cluster/framework';
import { timed } from './lib.mjs';

const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '20' } } });
const NAME = 'bench-lib';
const options = { cluster: { name: NAME, numNodes: 0, addons: [] }, dind: { subnet: '10.203.0.0/16' } };
const driver = dockerDriver();

await clean({ driver, cluster: NAME, userKubeconfig: false });
const [fresh, freshMs] = await timed(() => createCluster({ ...options, onDispose: 'down' }));
await fresh.dispose();
const [restored, restoreMs] = await timed(() => createCluster({ ...options, onDispose: 'keep' }));
await restored.dispose();
const [reused, reuseMs] = await timed(() => createCluster({ ...options, reuse: true }));

const env = environment(reused);
const setup = [];
for (let i = 0; i < Number(values.namespaces); i++) {
  const ns = await env.namespace('bench');
  setup.push(Math.round(ns.setupMs));
  await ns.dispose();
}
await reused.dispose();
await clean({ driver, cluster: NAME, userKubeconfig: false });
const sorted = [...setup].sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
process.stdout.write(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cluster: '1 node, bridge, no addons',
      createCluster: { freshMs, fromSnapshotMs: restoreMs, restored: restored.restored, reuseRunningMs: reuseMs, reused: reused.reused },
      namespaceSetupMs: { count: setup.length, p50: pct(50), p95: pct(95), max: sorted[sorted.length - 1], all: setup },
    },
    null,
    2,
  ) + '\n',
);
