// Benchmark: the upstream conformance suite. Building e2e.test and ginkgo at the cluster's version
// (cold: empty Go module and build caches and an empty factory cache; warm: nothing changed), and
// the wall time of the sig-network Conformance subset on a 3-node cluster per CNI.
// Prints JSON on stdout (progress on stderr).
//   node bench/e2e.mjs [--cni bridge,flannel] [--focus '[sig-network]'] [--skip-cold] [--parallel N]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clean, DEFAULT_KUBERNETES_VERSION, ensureGoBinaries, goModuleDir, imageCacheDir, loadConfig, localClusterHome, up } from '@local-cluster/core';
import { e2eBinaries, runConformance } from '@local-cluster/verify';
import { dockerDriver } from '@local-cluster/docker-driver';
import { nodeImage } from '@local-cluster/images';
import { CNI_PLUGINS, cniList, recorder, stderrLogger, timed, withColdGoCaches } from './lib.mjs';

const { values } = parseArgs({
  options: {
    cni: { type: 'string', default: 'bridge,flannel' },
    focus: { type: 'string', default: '[sig-network]' },
    parallel: { type: 'string' },
    'skip-cold': { type: 'boolean', default: false },
  },
});
const cniNames = cniList(values.cni);
const driver = dockerDriver();
const signal = new AbortController().signal;
const logger = stderrLogger;
const version = DEFAULT_KUBERNETES_VERSION;

async function binaries() {
  const goMod = readFileSync(join(await goModuleDir('k8s.io/kubernetes', version), 'go.mod'), 'utf8');
  const wanted = e2eBinaries(version, goMod);
  const result = { cold: null, warmMs: null };
  if (!values['skip-cold']) {
    await withColdGoCaches('lc-bench-e2e-', async (scratch) => {
      const [, ms] = await timed(() => ensureGoBinaries(`e2e.test-${version}`, wanted, { cacheDir: join(scratch, 'factory'), logger, signal }));
      result.cold = { ms };
    });
  }
  // once to make sure the machine's cache holds them, then the measured warm call
  await ensureGoBinaries(`e2e.test-${version}`, wanted, { cacheDir: imageCacheDir(localClusterHome()), logger, signal });
  const [, warmMs] = await timed(() => ensureGoBinaries(`e2e.test-${version}`, wanted, { cacheDir: imageCacheDir(localClusterHome()), logger, signal }));
  result.warmMs = warmMs;
  return result;
}

async function subset(cniName) {
  const name = `bench-e2e-${cniName}`;
  const { config } = loadConfig({ overrides: { cluster: { name, numNodes: 2, cniPlugin: cniName }, dind: { subnet: '10.203.0.0/16' } }, env: {} });
  const rec = recorder(`up ${cniName}`);
  await clean({ driver, cluster: name }).catch(() => undefined);
  const [, upMs] = await timed(() => up({ config, driver, cni: CNI_PLUGINS[cniName](), nodeImage: nodeImage(config), onEvent: rec.onEvent }));
  try {
    // the first run builds and loads the test images; the second is the measured one
    const first = await runConformance({ driver, cluster: name, focus: values.focus, logger, signal, ...(values.parallel ? { parallelism: Number(values.parallel) } : {}) });
    const second = await runConformance({ driver, cluster: name, focus: values.focus, logger, signal, ...(values.parallel ? { parallelism: Number(values.parallel) } : {}) });
    const brief = (r) => ({ selected: r.selected, passed: r.passed, failed: r.failed, skipped: r.skipped, wallMs: Math.round(r.durationMs), failures: r.failures.map((f) => f.name) });
    return { cni: cniName, upMs, parallelism: second.parallelism, firstRun: brief(first), run: brief(second) };
  } finally {
    await clean({ driver, cluster: name }).catch(() => undefined);
  }
}

const result = { date: new Date().toISOString(), kubernetesVersion: version, focus: values.focus, machine: { cpus: (await import('node:os')).cpus().length }, binaries: await binaries(), subsets: [] };
for (const cni of cniNames) result.subsets.push(await subset(cni));
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
