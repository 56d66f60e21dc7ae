// Benchmark: per-step durations of `up` (node image cached), `down`, `up` again (from the
// snapshot), and `clean`, and each node's memory after `up`. Prints JSON on stdout (progress on stderr).
//   node bench/run.mjs [--nodes N] [--control-planes N] [--name NAME] [--runs N] [--out FILE]
// restoreToCold is the up-from-snapshot time over the cold up time of the same run (issue 14
// asks for <= 0.2). With --runs N the whole cycle runs N times; `summary` gives min, median, max.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clean, down, loadConfig, up } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { bridge } from '@local-cluster/cni-bridge';
import { nodeImage } from '@local-cluster/images';
import { nodeMemory, recorder, timed } from './lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, nodes: { type: 'string', default: '2' }, 'control-planes': { type: 'string', default: '1' }, name: { type: 'string', default: 'bench' }, out: { type: 'string' } } });
const { config } = loadConfig({ overrides: { cluster: { name: values.name, numNodes: Number(values.nodes), controlPlanes: Number(values['control-planes']) } } });
const driver = dockerDriver();


const image = nodeImage(config);
const cached = await driver.images.has(image.ref);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: give a whole number of runs, 1 or more`);

/** One cycle: cold up, down, up from the snapshot, down, clean. */
async function cycle() {
  await clean({ driver, cluster: config.cluster.name, userKubeconfig: false });
  const upRec = recorder('up');
  const [cluster, upMs] = await timed(() => up({ config, driver, cni: bridge(), nodeImage: image, userKubeconfig: false, onEvent: upRec.onEvent }));
  const memory = {};
  for (const node of cluster.nodes) memory[node.hostname] = await nodeMemory(node);

  const downRec = recorder('down');
  const [, downMs] = await timed(() => down({ driver, cluster: config.cluster.name, onEvent: downRec.onEvent }));

  // `up` again: back from the snapshot the first `up` took
  const restoreRec = recorder('up from snapshot');
  const [restored, restoreMs] = await timed(() => up({ config, driver, cni: bridge(), nodeImage: image, userKubeconfig: false, onEvent: restoreRec.onEvent }));
  if (!restored.restored) throw new Error('the second up did not restore from the snapshot');
  await down({ driver, cluster: config.cluster.name });
  const cleanRec = recorder('clean');
  const [, cleanMs] = await timed(() => clean({ driver, cluster: config.cluster.name, userKubeconfig: false, onEvent: cleanRec.onEvent }));
  return {
    date: new Date().toISOString(),
    up: { totalMs: upMs, steps: upRec.steps },
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
      nodeImageWasCached: cached,
      summary: {
        runs,
        upMs: spread(results.map((r) => r.up.totalMs)),
        upFromSnapshotMs: spread(results.map((r) => r.upFromSnapshot.totalMs)),
        restoreToCold: spread(results.map((r) => r.restoreToCold)),
      },
      runs: results,
    },
    null,
    2,
  );
console.log(report);
if (values.out) writeFileSync(values.out, `${report}\n`);
