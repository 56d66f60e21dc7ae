// Benchmark: per-step durations of `up` (node image cached), `down`, `up` again (from the
// snapshot), and `clean`, and each node's memory after `up`. Prints JSON on stdout (progress on stderr).
//   node bench/run.mjs [--nodes N] [--control-planes N] [--addons LIST|default] [--name NAME] [--runs N] [--out FILE]
// --addons default: the addons `up` installs by default (storage, metrics-server, dashboard); the
// default here is none. With metrics-server, topNodesAfterUpMs is how long after `up` returned
// `kubectl top nodes` first listed every node.
// restoreToCold is the up-from-snapshot time over the cold up time of the same run (issue 14
// asks for <= 0.2). With --runs N the whole cycle runs N times; `summary` gives min, median, max.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clean, down, loadConfig, up, withFreeSubnet } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { bridge } from '@local-cluster/cni-bridge';
import { dashboard, metricsServer, storage } from '@local-cluster/addons';
import { nodeImage } from '@local-cluster/images';
import { nodeMemory, recorder, timed } from './lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, nodes: { type: 'string', default: '2' }, 'control-planes': { type: 'string', default: '1' }, name: { type: 'string', default: 'bench' }, addons: { type: 'string', default: '' }, out: { type: 'string' } } });
const BUILTIN_ADDONS = { storage, 'metrics-server': metricsServer, dashboard };
const addonNames = values.addons === 'default' ? ['storage', 'metrics-server', 'dashboard'] : values.addons.split(',').filter(Boolean);
for (const a of addonNames) if (!BUILTIN_ADDONS[a]) throw new Error(`--addons ${values.addons}: "${a}" is not one of ${Object.keys(BUILTIN_ADDONS).join(', ')} (or "default")`);
const addons = () => addonNames.map((a) => BUILTIN_ADDONS[a]());
const driver = dockerDriver();
// a free node subnet when another cluster holds the default one, as `up` picks
const { config } = await withFreeSubnet(loadConfig({ overrides: { cluster: { name: values.name, numNodes: Number(values.nodes), controlPlanes: Number(values['control-planes']), addons: addonNames } } }), driver);


const image = nodeImage(config);
const cached = await driver.images.has(image.ref);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: give a whole number of runs, 1 or more`);

/** One cycle: cold up, down, up from the snapshot, down, clean. */
async function cycle() {
  await clean({ driver, cluster: config.cluster.name, userKubeconfig: false });
  const upRec = recorder('up');
  const [cluster, upMs] = await timed(() => up({ config, driver, cni: bridge(), addons: addons(), nodeImage: image, userKubeconfig: false, onEvent: upRec.onEvent }));
  const upReturned = performance.now();
  let topNodesAfterUpMs;
  if (addonNames.includes('metrics-server')) {
    // what a user of `kubectl top` sees: every node listed, counted from `up`'s return
    for (;;) {
      const out = await cluster.kubectl(['top', 'nodes', '--no-headers']).catch(() => '');
      if (out.trim().split('\n').filter(Boolean).length === cluster.nodes.length) break;
      if (performance.now() - upReturned > 120_000) throw new Error('kubectl top nodes did not list every node in 120 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    topNodesAfterUpMs = Math.round(performance.now() - upReturned);
    process.stderr.write(`kubectl top nodes listed every node ${(topNodesAfterUpMs / 1000).toFixed(1)}s after up returned\n`);
  }
  const memory = {};
  for (const node of cluster.nodes) memory[node.hostname] = await nodeMemory(node);

  const downRec = recorder('down');
  const [, downMs] = await timed(() => down({ driver, cluster: config.cluster.name, onEvent: downRec.onEvent }));

  // `up` again: back from the snapshot the first `up` took
  const restoreRec = recorder('up from snapshot');
  const [restored, restoreMs] = await timed(() => up({ config, driver, cni: bridge(), addons: addons(), nodeImage: image, userKubeconfig: false, onEvent: restoreRec.onEvent }));
  if (!restored.restored) throw new Error('the second up did not restore from the snapshot');
  await down({ driver, cluster: config.cluster.name });
  const cleanRec = recorder('clean');
  const [, cleanMs] = await timed(() => clean({ driver, cluster: config.cluster.name, userKubeconfig: false, onEvent: cleanRec.onEvent }));
  return {
    date: new Date().toISOString(),
    up: { totalMs: upMs, steps: upRec.steps },
    ...(topNodesAfterUpMs === undefined ? {} : { topNodesAfterUpMs }),
    nodeMemoryAfterUp: memory,
    down: { totalMs: downMs, steps: downRec.steps },
    upFromSnapshot: { totalMs: restoreMs, steps: restoreRec.steps },
    restoreToCold: Math.round((restoreMs / upMs) * 1000) / 1000,
    clean: { totalMs: cleanMs, steps: cleanRec.steps },
  };
}

const results = [];
for (let i = 1; i <= runs; i++) {
  if (runs > 1) process.stderr.write(`run ${i} of ${runs}\n`);
  results.push(await cycle());
}
const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted.at(-1) };
};

const info = await driver.info();
const report = JSON.stringify(
    {
      date: results[0].date,
      engine: info.engineVersion,
      securityMode: info.securityMode,
      kubernetesVersion: config.source.kubernetesVersion,
      nodes: config.cluster.controlPlanes + config.cluster.numNodes,
      controlPlanes: config.cluster.controlPlanes,
      addons: addonNames,
      nodeImageWasCached: cached,
      summary: {
        runs,
        upMs: spread(results.map((r) => r.up.totalMs)),
        upFromSnapshotMs: spread(results.map((r) => r.upFromSnapshot.totalMs)),
        restoreToCold: spread(results.map((r) => r.restoreToCold)),
        ...(addonNames.includes('metrics-server') ? { topNodesAfterUpMs: spread(results.map((r) => r.topNodesAfterUpMs)) } : {}),
      },
      runs: results,
    },
    null,
    2,
  );
console.log(report);
if (values.out) writeFileSync(values.out, `${report}\n`);
