// Benchmark: what cluster-shape settings and addons cost. `up` (3 nodes, bridge) with no addons,
// with `storage`, with `storage,metrics-server`, with the default three (+ dashboard), and with feature gates + component flags + a
// kubeadm patch (the binaries' flag checks); each addon's install time and its pods' idle memory
// (from metrics-server); the Helm client build, cold (empty Go caches) and warm.
// Prints JSON on stdout (progress on stderr).
//   node bench/shape.mjs [--nodes N] [--skip-cold]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAddons } from 'local-cluster';
import { clean, ensureGoBinaries, helmBinary, imageCacheDir, kubectlOn, loadConfig, localClusterHome, up } from '@local-cluster/core';
import { bridge } from '@local-cluster/cni-bridge';
import { dockerDriver } from '@local-cluster/docker-driver';
import { nodeImage } from '@local-cluster/images';
import { recorder, stderrLogger, timed, withColdGoCaches } from './lib.mjs';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '2' }, 'skip-cold': { type: 'boolean', default: false } } });
const driver = dockerDriver();
const signal = new AbortController().signal;
const NAME = 'bench-shape';
const SUBNET = '10.203.0.0/16';

async function timeUp(label, cluster, after) {
  const loaded = loadConfig({ overrides: { cluster: { name: NAME, numNodes: Number(values.nodes), ...cluster }, dind: { subnet: SUBNET } }, env: {} });
  const addons = await loadAddons(loaded);
  await clean({ driver, cluster: NAME, userKubeconfig: false });
  const rec = recorder(`up (${label})`);
  const [handle, ms] = await timed(() => up({ config: loaded.config, driver, cni: bridge(), addons, nodeImage: nodeImage(loaded.config), userKubeconfig: false, onEvent: rec.onEvent }));
  const extra = after ? await after(handle) : {};
  await clean({ driver, cluster: NAME, userKubeconfig: false });
  const step = (name) => rec.steps.find((s) => s.step === name)?.ms ?? 0;
  return { label, totalMs: ms, addonsMs: step('addons'), checkComponentsMs: step('check-components'), steps: rec.steps, ...extra };
}

/** Idle memory of each addon's pods a minute after up, from metrics-server. */
async function addonMemory(cluster) {
  await new Promise((r) => setTimeout(r, 60_000));
  const controlPlane = cluster.nodes.find((n) => n.role === 'control-plane');
  const rows = (await kubectlOn(controlPlane, ['top', 'pods', '-A', '--no-headers'])).trim().split('\n').map((l) => l.trim().split(/\s+/));
  const pick = (ns, prefix) => rows.filter(([n, pod]) => n === ns && pod.startsWith(prefix)).map(([, pod, cpu, mem]) => ({ pod, cpu, memory: mem }));
  return { idle: { storage: pick('local-path-storage', 'local-path-provisioner'), 'metrics-server': pick('kube-system', 'metrics-server'), dashboard: pick('local-cluster-dashboard', 'dashboard') } };
}

const runs = [];
runs.push(await timeUp('no addons', { addons: [] }));
runs.push(await timeUp('storage', { addons: ['storage'] }));
runs.push(await timeUp('storage,metrics-server', { addons: ['storage', 'metrics-server'] }));
runs.push(await timeUp('storage,metrics-server,dashboard (the default)', { addons: ['storage', 'metrics-server', 'dashboard'] }, addonMemory));
runs.push(
  await timeUp('no addons + feature gate, component flags, kubeadm patch', {
    addons: [],
    featureGates: { CSIVolumeHealth: true },
    componentArgs: { apiServer: { 'event-ttl': '2h0m0s' }, kubelet: { 'max-pods': '120' } },
    kubeadmPatches: [{ kind: 'KubeletConfiguration', merge: { imageGCLowThresholdPercent: 70 } }],
  }),
);

const helm = { cold: null, warm: null };
const buildHelm = (cacheDir) => ensureGoBinaries(`helm-bench`, [helmBinary()], { cacheDir, logger: stderrLogger, signal });
if (!values['skip-cold']) {
  await withColdGoCaches('lc-bench-helm-', async (scratch) => {
    const [, ms] = await timed(() => buildHelm(join(scratch, 'factory')));
    helm.cold = { ms };
  });
}
await buildHelm(imageCacheDir(localClusterHome()));
const [, warmMs] = await timed(() => buildHelm(imageCacheDir(localClusterHome())));
helm.warm = { ms: warmMs };

process.stdout.write(JSON.stringify({ date: new Date().toISOString(), nodes: Number(values.nodes) + 1, cni: 'bridge', runs, helm }, null, 2) + '\n');
