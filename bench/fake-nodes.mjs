// Benchmark: how many KWOK fake nodes this machine holds Ready with the control plane answering.
// `up` (1 worker, bridge, no addons) with the first count of fake nodes, then grows the same
// cluster to each next count (parallel creates, then the wait `up` does). At each count, after the
// nodes are Ready: time to Ready, kwok's CPU and memory (`docker stats`), the API server's and
// etcd's memory (VmRSS inside the control plane), and API latency (p50/p99 of LIST nodes and GET
// node, timed here, 200 ms apart). At the largest count that got Ready: a Deployment of --pods
// replicas on the fake nodes and the time until all are Running. Stops growing at the first count
// that does not get Ready in time or whose API stops answering.
// Writes bench/results/fake-nodes-<date>.json and prints it on stdout (progress on stderr).
// --existing measures the running kw-bench cluster (its fake nodes already up) instead of making one.
//   node bench/fake-nodes.mjs [--counts 1000,2000,5000] [--pods 10000] [--keep] [--existing]
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { adminKubeconfigFile, apiAccessFromKubeconfig, clean, clusterDir, localClusterHome, createFakeNodes, KubeApi, loadConfig, up, waitFakeNodesReady } from '@local-cluster/core';
import { bridge } from '@local-cluster/cni-bridge';
import { dockerDriver } from '@local-cluster/docker-driver';
import { nodeImage } from '@local-cluster/images';
import { recorder, stderrLogger, timed } from './lib.mjs';

const { values } = parseArgs({ options: { counts: { type: 'string', default: '1000,2000,5000' }, pods: { type: 'string', default: '10000' }, keep: { type: 'boolean', default: false }, existing: { type: 'boolean', default: false } } });
const counts = values.counts.split(',').map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--counts must list positive whole numbers, e.g. 1000,2000,5000');
const PODS = Number(values.pods);
const driver = dockerDriver();
const NAME = 'kw-bench';
const SUBNET = '10.248.0.0/16';
const exec = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const signal = new AbortController().signal;

/** p50 and p99 of `n` timed calls of fn, 200 ms apart, in ms. */
async function latency(fn, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
    await sleep(200);
  }
  times.sort((a, b) => a - b);
  const at = (q) => Math.round(times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]);
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(times.at(-1)), samples: n };
}

/** kwok's CPU and memory from `docker stats`, averaged over three samples. */
async function kwokStats() {
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await exec('docker', ['stats', '--no-stream', '--format', '{{json .}}', `local-cluster-${NAME}-kwok`]);
    const s = JSON.parse(stdout);
    samples.push({ cpuPercent: Number.parseFloat(s.CPUPerc), memory: s.MemUsage.split(' / ')[0] });
  }
  return { cpuCores: Number((samples.reduce((a, s) => a + s.cpuPercent, 0) / samples.length / 100).toFixed(2)), memory: samples.at(-1).memory };
}

/** VmRSS (MB) of the control-plane processes, read inside the control-plane node. */
async function controlPlaneMemory(controlPlane) {
  // pgrep -x matches the process name, which the kernel cuts at 15 characters
  const names = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler'];
  const script = names.map((p) => `echo ${p} $(grep VmRSS /proc/$(pgrep -xo ${p.slice(0, 15)})/status | awk '{print $2}')`).join('; ');
  const r = await controlPlane.run(['sh', '-c', script]);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([p, kb]) => [p, Math.round(Number(kb) / 1024)]));
}

async function measure(api, cluster, count, readyMs) {
  await sleep(30_000); // a steady state: heartbeats and leases going
  const readyz = await api.call('GET', '/readyz', { ok: [500] }).catch((e) => ({ status: 0, body: e.message }));
  const list = await latency(() => api.call('GET', '/api/v1/nodes'), 20);
  const get = await latency((i) => api.call('GET', `/api/v1/nodes/kwok-node-${(i * 97) % count}`), 50);
  const controlPlane = cluster.nodes.find((n) => n.role === 'control-plane');
  // still Ready at the end of the measurement (kwok keeps up the heartbeats, or not)
  const nodes = await api.call('GET', '/api/v1/nodes?labelSelector=type%3Dkwok&resourceVersion=0');
  const readyAtEnd = nodes.body.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const row = { fakeNodes: count, readyAtEnd, readyMs, apiAnswering: readyz.status === 200, kwok: await kwokStats(), controlPlaneRssMB: await controlPlaneMemory(controlPlane), listNodes: list, getNode: get, loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

async function deploymentRunning(api, count, replicas) {
  const name = 'bench-on-fake-nodes';
  await api.apply(`/apis/apps/v1/namespaces/default/deployments/${name}`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: { type: 'kwok' }, tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }], containers: [{ name: 'fake', image: 'registry.k8s.io/pause:3.10' }] },
      },
    },
  });
  const started = performance.now();
  // the scheduler placed about 20 pods a second at 5000 nodes on 2 cores
  const deadline = Date.now() + Math.max(8 * 60_000, replicas * 100);
  let running = 0;
  for (;;) {
    const { body } = await api.call('GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${name}&resourceVersion=0`);
    running = body.items.filter((p) => p.status?.phase === 'Running' && p.spec.nodeName?.startsWith('kwok-node-')).length;
    process.stderr.write(`  ${running} of ${replicas} pods Running on ${count} fake nodes\n`);
    if (running >= replicas || Date.now() > deadline) break;
    await sleep(10_000);
  }
  return { fakeNodes: count, replicas, running, allRunning: running >= replicas, ms: Math.round(performance.now() - started) };
}

const dir = new URL('./results/', import.meta.url);
const date = new Date().toISOString();
/** Writes what is measured so far (the run may be stopped before the largest count). */
function save(partial) {
  const result = {
    date,
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), note: 'shared: other engineers ran builds and clusters at the same time (see loadAverage)' },
    kwok: 'sigs.k8s.io/kwok v0.8.0',
    ...partial,
  };
  const text = JSON.stringify(result, null, 2);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`fake-nodes-${date.slice(0, 10)}.json`, dir), `${text}\n`);
  return text;
}

const loaded = loadConfig({ overrides: { cluster: { name: NAME, numNodes: 1, fakeNodes: counts[0] }, dind: { subnet: SUBNET } }, env: {} });
const rec = recorder(`up (${counts[0]} fake nodes)`);
let cluster;
let upMs;
if (values.existing) {
  cluster = { kubeconfigPath: adminKubeconfigFile(clusterDir(localClusterHome(), NAME)), nodes: await driver.listNodes({ cluster: NAME, role: 'node' }) };
} else {
  await clean({ driver, cluster: NAME, userKubeconfig: false });
  [cluster, upMs] = await timed(() => up({ config: loaded.config, driver, cni: bridge(), nodeImage: nodeImage(loaded.config), userKubeconfig: false, onEvent: rec.onEvent }));
}
const api = new KubeApi(apiAccessFromKubeconfig(readFileSync(cluster.kubeconfigPath, 'utf8')));
const rows = [await measure(api, cluster, counts[0], rec.steps.find((s) => s.step === 'fake-nodes')?.ms)];
let largest = rows[0].apiAnswering ? counts[0] : 0;
const failures = [];
save({ upMs, upSteps: rec.steps, counts: rows, failures, largestReady: largest, partial: true });
for (const count of counts.slice(1)) {
  const t = performance.now();
  try {
    await createFakeNodes(api, count, signal);
    await waitFakeNodesReady(api, count, { since: 0, untainted: true, logger: stderrLogger, signal, timeoutMs: 120_000 + 150 * count });
  } catch (e) {
    failures.push({ fakeNodes: count, error: String(e.message ?? e) });
    break;
  }
  const row = await measure(api, cluster, count, Math.round(performance.now() - t));
  rows.push(row);
  save({ upMs, upSteps: rec.steps, counts: rows, failures, largestReady: largest, partial: true });
  if (!row.apiAnswering) break;
  largest = count;
}
const pods = largest && PODS ? await deploymentRunning(api, largest, PODS).catch((e) => ({ fakeNodes: largest, replicas: PODS, error: String(e.message ?? e) })) : undefined;
if (pods) {
  // the control plane under the pods too
  const after = await measure(api, cluster, largest, undefined).catch((e) => ({ error: String(e.message ?? e) }));
  pods.afterPods = after;
}
await api.close();
if (!values.keep) await clean({ driver, cluster: NAME, userKubeconfig: false });

console.log(save({ upMs, upSteps: rec.steps, counts: rows, failures, largestReady: largest, deployment: pods }));
