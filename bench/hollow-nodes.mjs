// Benchmark: kubemark hollow nodes at scale. For each N: a cluster of one real node plus N
// hollow nodes (`up --hollow-nodes N`, kubemark image cached), the time to N Ready, the hollow
// containers' memory and CPU per hollow node (idle, then with 4 pods each), the control plane's
// memory, API latency for list and get under that load, and the time until a Deployment of
// 4 pods per hollow node is all Running. Writes bench/results/hollow-nodes-<date>.json.
//   node bench/hollow-nodes.mjs [--counts 25,50,100]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clean, HOLLOW_LABEL, waitFor } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { apiLatency, containerLoad } from './lib.mjs';

const { values } = parseArgs({ options: { counts: { type: 'string', default: '25,50,100' }, subnet: { type: 'string', default: '10.253.0.0/16' } } });
const NAME = 'bench-hollow';
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const driver = dockerDriver();
const home = process.env.LOCAL_CLUSTER_HOME ?? join(process.env.HOME ?? '/root', '.local-cluster');
const kubeconfig = join(home, 'clusters', NAME, 'admin.conf');
const cli = (args) => {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`local-cluster ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return { out: r.stdout + r.stderr, ms: Math.round(performance.now() - started) };
};
const kubectl = (...args) => cli(['kubectl', '--cluster', NAME, ...args]).out;
const sum = (rows, key) => rows.reduce((a, r) => a + r[key], 0);

const rows = [];
const failures = [];
for (const count of values.counts.split(',').map(Number)) {
  try {
    rows.push(await measure(count));
  } catch (e) {
    // the first count the machine does not hold ends the run; the rows before it stand
    failures.push({ hollowNodes: count, error: String(e.message ?? e).slice(0, 2000), loadAverage: loadavg().map((l) => Math.round(l * 100) / 100) });
    process.stderr.write(`${count} hollow nodes: ${e.message}\n`);
    break;
  }
}

async function measure(count) {
  await clean({ driver, cluster: NAME, userKubeconfig: false });
  process.stderr.write(`${count} hollow nodes: up ...\n`);
  const up = cli(['up', '--name', NAME, '--num-nodes', '0', '--addons', '', '--hollow-nodes', String(count), '--dind-subnet', values.subnet, '--json']);
  const steps = Object.fromEntries(up.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.type === 'step-end').map((e) => [e.step, Math.round(e.durationMs)]));
  const containers = await driver.listNodes({ cluster: NAME, role: 'hollow-nodes' });
  const [controlPlane] = await driver.listNodes({ cluster: NAME, role: 'node' });
  const idle = await Promise.all(containers.map((c) => containerLoad(c)));
  const cp = await containerLoad(controlPlane);
  const latencyIdle = await apiLatency(kubeconfig, ['/api/v1/nodes', `/api/v1/nodes/hollow-node-${count}`]);

  const replicas = count * 4;
  const manifest = join(mkdtempSync(join(tmpdir(), 'bench-hollow-')), 'd.json');
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'load', namespace: 'default' }, spec: { replicas, selector: { matchLabels: { app: 'load' } }, template: { metadata: { labels: { app: 'load' } }, spec: { nodeSelector: { [HOLLOW_LABEL]: 'true' }, tolerations: [{ key: HOLLOW_LABEL, operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } } } }));
  const started = performance.now();
  kubectl('apply', '-f', manifest);
  await waitFor(`${replicas} pods Running`, async () => (Number(kubectl('get', 'deployment', 'load', '-o', 'jsonpath={.status.availableReplicas}') || 0) >= replicas ? true : undefined), { timeoutMs: 900_000, intervalMs: 2000 });
  const podsRunningMs = Math.round(performance.now() - started);
  const busy = await Promise.all(containers.map((c) => containerLoad(c)));
  const latencyBusy = await apiLatency(kubeconfig, ['/api/v1/nodes', `/api/v1/nodes/hollow-node-${count}`, '/api/v1/pods?limit=500']);
  const mib = (b) => Math.round((b / 2 ** 20) * 10) / 10;
  const row = {
    hollowNodes: count,
    containers: containers.length,
    upMs: up.ms,
    hollowStepMs: steps['hollow-nodes'],
    steps,
    perHollowNodeIdle: { memoryMiB: mib(sum(idle, 'workingSetBytes') / count), cores: Math.round((sum(idle, 'cores') / count) * 10000) / 10000 },
    controlPlaneIdle: { memoryMiB: mib(cp.workingSetBytes), cores: cp.cores },
    apiLatencyIdleMs: latencyIdle,
    deployment: { replicas, allRunningMs: podsRunningMs },
    perHollowNodeWith4Pods: { memoryMiB: mib(sum(busy, 'workingSetBytes') / count), cores: Math.round((sum(busy, 'cores') / count) * 10000) / 10000 },
    apiLatencyWithPodsMs: latencyBusy,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}
await clean({ driver, cluster: NAME, userKubeconfig: false });
const result = { date: new Date().toISOString(), machine: '2 cores, 24 GiB, cgroup v1', cluster: '1 real node (control plane, bridge, no addons) + N hollow nodes', rows, failures, largestReady: Math.max(0, ...rows.map((r) => r.hollowNodes)) };
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/hollow-nodes-${result.date.slice(0, 10)}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
