// Benchmark: hollow nodes on another cluster (cluster.hollowNodesOn). A 3-node local cluster EXT
// (1 control plane, 2 workers) runs the hollow kubelets of SIM (1 control plane, no workers) as
// StatefulSet pods. Records: the time until the N hollow nodes are Ready (the `hollow-nodes` step
// of `up`), the time until a Deployment of 4 pods per hollow node is all Running, the cost per
// hollow node on EXT's nodes (the hollow pods' own cgroups, and EXT's node containers against
// their load before SIM), API latencies of SIM (LIST nodes, GET node, LIST pods: p50/p99), the
// time until the hollow nodes of a deleted pod are Ready again, and what of ours is left on EXT
// after `clean` of SIM. Compared with the kubemark seed's 0.09 core and 220 MB per hollow node.
// Writes bench/results/hollow-nodes-on-<date>T<HHMM>-<N>.json.
//   node bench/hollow-nodes-on.mjs [--count 100] [--ext-subnet 10.220.0.0/16] [--sim-subnet 10.238.0.0/16]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clean, HOLLOW_LABEL, waitFor } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { apiLatency, containerLoad } from './lib.mjs';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100' }, 'ext-subnet': { type: 'string', default: '10.220.0.0/16' }, 'sim-subnet': { type: 'string', default: '10.238.0.0/16' } } });
const COUNT = Number(values.count);
const EXT = 'hx-bench-ext';
const SIM = 'hx-bench-sim';
const NAMESPACE = `local-cluster-hollow-${SIM}`;
const SEED = { coresPerHollowNode: 0.09, memoryMBPerHollowNode: 220, source: 'kubemark guide (seed): a HollowNode pod (one hollow node each there) limited to 0.09 CPU core and 220 MB' };
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const driver = dockerDriver();
const home = process.env.LOCAL_CLUSTER_HOME ?? join(process.env.HOME ?? '/root', '.local-cluster');
const kubeconfigOf = (name) => join(home, 'clusters', name, 'admin.conf');
const log = (m) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const cli = (args) => {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`local-cluster ${args.join(' ')} failed: ${(r.stderr || r.stdout).slice(-3000)}`);
  return { out: r.stdout + r.stderr, ms: Math.round(performance.now() - started) };
};
const kubectl = (name, ...args) => {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigOf(name), ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.slice(-1000)}`);
  return r.stdout;
};
const mib = (b) => Math.round((b / 2 ** 20) * 10) / 10;
const round = (v, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/** CPU (cores, over `ms`) and memory (working set) of a pod's cgroup inside an EXT node container. */
async function podLoad(node, uid, ms = 20_000) {
  const script = `set -e
u=${uid}; u2=$(echo $u | tr - _)
m=$(find /sys/fs/cgroup/memory -maxdepth 5 -type d \\( -name "pod$u" -o -name "*pod$u2.slice" \\) | head -n1)
c=$(find /sys/fs/cgroup/cpuacct -maxdepth 5 -type d \\( -name "pod$u" -o -name "*pod$u2.slice" \\) | head -n1)
echo "$c"; cat $c/cpuacct.usage; cat $m/memory.usage_in_bytes; grep '^total_inactive_file ' $m/memory.stat | cut -d' ' -f2`;
  const read = async () => {
    const r = await node.run(['sh', '-c', script]);
    if (r.exitCode !== 0) throw new Error(`pod ${uid}'s cgroup on ${node.hostname}: ${r.stderr}`);
    const [, cpu, usage, inactive] = r.stdout.trim().split('\n');
    return { cpu: Number(cpu) / 1e9, memory: Number(usage) - Number(inactive ?? 0) };
  };
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return { cores: (b.cpu - a.cpu) / (ms / 1000), workingSetBytes: b.memory };
}

/** The hollow pods on EXT, and the load of each (in parallel, so one 20 s window). */
async function hollowPodsLoad() {
  const pods = JSON.parse(kubectl(EXT, 'get', 'pods', '-n', NAMESPACE, '-o', 'json')).items;
  const nodes = await driver.listNodes({ cluster: EXT, role: 'node' });
  const loads = await Promise.all(pods.map((p) => podLoad(nodes.find((n) => n.hostname === p.spec.nodeName), p.metadata.uid)));
  return { pods: pods.map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status.phase })), cores: loads.reduce((a, l) => a + l.cores, 0), workingSetBytes: loads.reduce((a, l) => a + l.workingSetBytes, 0) };
}

async function extNodesLoad() {
  const nodes = await driver.listNodes({ cluster: EXT, role: 'node' });
  const loads = await Promise.all(nodes.map((n) => containerLoad(n)));
  return { cores: loads.reduce((a, l) => a + l.cores, 0), workingSetBytes: loads.reduce((a, l) => a + l.workingSetBytes, 0) };
}

/** Hollow nodes (of `names`, default all) Ready with a heartbeat at or after `since` (a kubelet that runs on posts its status only every 5 minutes when nothing changed). */
const readySince = (since, names) =>
  JSON.parse(kubectl(SIM, 'get', 'nodes', '-l', HOLLOW_LABEL, '-o', 'json')).items.filter((n) => (!names || names.includes(n.metadata.name)) && n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True' && Date.parse(c.lastHeartbeatTime) >= since)).length;

/** What of ours is on EXT: hollow namespaces, the kubemark image in its nodes, addresses on SIM's subnet. */
async function oursOnExt() {
  const found = kubectl(EXT, 'get', 'namespaces', '-l', 'local-cluster.dev/hollow-nodes-of', '-o', 'name').split('\n').filter(Boolean);
  const prefix = values['sim-subnet'].split('.').slice(0, 2).join('\\.');
  for (const node of await driver.listNodes({ cluster: EXT, role: 'node' })) {
    const images = await node.run(['ctr', '-n', 'k8s.io', 'images', 'ls', '-q']);
    found.push(...images.stdout.split('\n').filter((i) => i.includes('kubemark')).map((i) => `${node.hostname}: image ${i}`));
    const links = await node.run(['sh', '-c', `ip -o -4 addr show | grep -c " ${prefix}\\." || true`]);
    if (links.stdout.trim() !== '0') found.push(`${node.hostname}: an address on ${values['sim-subnet']}`);
  }
  return found;
}

const result = { date: new Date().toISOString(), machine: '2 cores, 24 GiB, cgroup v1, shared with other work (see loadAverage)', hollowNodes: COUNT, podsPerHollowNode: 4, seed: SEED };
try {
  await clean({ driver, cluster: SIM });
  await clean({ driver, cluster: EXT });
  log(`up ${EXT} (3 nodes)`);
  result.extUpMs = cli(['up', '--name', EXT, '--num-nodes', '2', '--addons', '', '--dind-subnet', values['ext-subnet']]).ms;
  log('EXT load before SIM');
  const extBefore = await extNodesLoad();

  log(`up ${SIM} with ${COUNT} hollow nodes on ${EXT}`);
  const up = cli(['up', '--name', SIM, '--num-nodes', '0', '--addons', '', '--hollow-nodes', String(COUNT), '--hollow-nodes-on', EXT, '--dind-subnet', values['sim-subnet'], '--json']);
  const steps = Object.fromEntries(up.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.type === 'step-end').map((e) => [e.step, Math.round(e.durationMs)]));
  const ready = JSON.parse(kubectl(SIM, 'get', 'nodes', '-l', HOLLOW_LABEL, '-o', 'json')).items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  Object.assign(result, { simUpMs: up.ms, registrationMs: steps['hollow-nodes'], steps, hollowNodesReady: ready });
  log(`${ready} hollow nodes Ready; hollow-nodes step ${steps['hollow-nodes']} ms`);

  log('idle cost');
  const idle = await hollowPodsLoad();
  const extIdle = await extNodesLoad();
  result.hollowPods = idle.pods;
  result.idle = {
    perHollowNode: { cores: round(idle.cores / COUNT), memoryMiB: mib(idle.workingSetBytes / COUNT), from: "the hollow pods' cgroups on EXT's nodes" },
    extNodesDeltaPerHollowNode: { cores: round((extIdle.cores - extBefore.cores) / COUNT), memoryMiB: mib((extIdle.workingSetBytes - extBefore.workingSetBytes) / COUNT), from: "EXT's node containers, against their load before SIM" },
  };
  result.apiLatencyIdleMs = await apiLatency(kubeconfigOf(SIM), ['/api/v1/nodes', `/api/v1/nodes/hollow-node-${COUNT}`, '/api/v1/pods']);

  const replicas = COUNT * 4;
  const manifest = join(mkdtempSync(join(tmpdir(), 'bench-hollow-on-')), 'd.json');
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'load', namespace: 'default' }, spec: { replicas, selector: { matchLabels: { app: 'load' } }, template: { metadata: { labels: { app: 'load' } }, spec: { nodeSelector: { [HOLLOW_LABEL]: 'true' }, tolerations: [{ key: HOLLOW_LABEL, operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } } } }));
  log(`Deployment of ${replicas} pods`);
  const started = performance.now();
  kubectl(SIM, 'apply', '-f', manifest);
  await waitFor(`${replicas} pods Running`, async () => (Number(kubectl(SIM, 'get', 'deployment', 'load', '-o', 'jsonpath={.status.availableReplicas}') || 0) >= replicas ? true : undefined), { timeoutMs: 1_200_000, intervalMs: 2000 });
  const pods = JSON.parse(kubectl(SIM, 'get', 'pods', '-l', 'app=load', '-o', 'json')).items;
  result.deployment = {
    replicas,
    allRunningMs: Math.round(performance.now() - started),
    running: pods.filter((p) => p.status.phase === 'Running').length,
    onHollowNodes: pods.filter((p) => p.spec.nodeName?.startsWith('hollow-node-')).length,
    hollowNodesUsed: new Set(pods.map((p) => p.spec.nodeName)).size,
  };
  log(JSON.stringify(result.deployment));

  log('cost with 4 pods per hollow node');
  const busy = await hollowPodsLoad();
  const extBusy = await extNodesLoad();
  result.with4Pods = {
    perHollowNode: { cores: round(busy.cores / COUNT), memoryMiB: mib(busy.workingSetBytes / COUNT) },
    extNodesDeltaPerHollowNode: { cores: round((extBusy.cores - extBefore.cores) / COUNT), memoryMiB: mib((extBusy.workingSetBytes - extBefore.workingSetBytes) / COUNT) },
  };
  result.apiLatencyWithPodsMs = await apiLatency(kubeconfigOf(SIM), ['/api/v1/nodes', `/api/v1/nodes/hollow-node-${COUNT}`, '/api/v1/pods']);
  result.versusSeed = {
    coresPerHollowNode: `${result.with4Pods.perHollowNode.cores} here vs ${SEED.coresPerHollowNode} seed (${round(result.with4Pods.perHollowNode.cores / SEED.coresPerHollowNode, 3)}x)`,
    memoryPerHollowNode: `${result.with4Pods.perHollowNode.memoryMiB} MiB here vs ${SEED.memoryMBPerHollowNode} MB seed (${round((result.with4Pods.perHollowNode.memoryMiB * 1.048576) / SEED.memoryMBPerHollowNode, 3)}x)`,
  };

  log('delete hollow-nodes-0 on EXT');
  const perPod = Math.min(25, COUNT);
  const deleted = Date.now();
  kubectl(EXT, 'delete', 'pod', '-n', NAMESPACE, 'hollow-nodes-0');
  const csrs = () => kubectl(SIM, 'get', 'csr', '-o', 'jsonpath={range .items[*]}{.spec.username}{"\\n"}{end}').split('\n').filter((u) => u === 'system:bootstrap:hollow').length;
  await waitFor('its hollow kubelets bootstrapped again', async () => (csrs() >= COUNT + perPod ? true : undefined), { timeoutMs: 300_000, intervalMs: 2000 });
  const names = Array.from({ length: perPod }, (_, i) => `hollow-node-${i + 1}`);
  await waitFor(`the pod's ${perPod} hollow nodes Ready with a heartbeat after the delete`, async () => (readySince(deleted, names) === perPod ? true : undefined), { timeoutMs: 300_000, intervalMs: 2000 });
  result.podDeleted = { readyNodesAfter: JSON.parse(kubectl(SIM, 'get', 'nodes', '-l', HOLLOW_LABEL, '-o', 'json')).items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).length };
  result.podDeleted = { pod: 'hollow-nodes-0', hollowNodes: perPod, itsNodesReadyAgainMs: Date.now() - deleted, newCsrs: csrs() - COUNT, ...result.podDeleted };
  log(JSON.stringify(result.podDeleted));

  log(`clean ${SIM}`);
  result.simCleanMs = cli(['clean', '--name', SIM]).ms;
  result.oursOnExtAfterClean = await oursOnExt();
  log(`left on EXT: ${JSON.stringify(result.oursOnExtAfterClean)}`);
} catch (e) {
  result.error = String(e.message ?? e).slice(0, 3000);
  log(`failed: ${result.error}`);
}
result.loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
await clean({ driver, cluster: SIM }).catch(() => undefined);
await clean({ driver, cluster: EXT }).catch(() => undefined);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/hollow-nodes-on-${result.date.slice(0, 16).replace(/:/g, '')}-${COUNT}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
