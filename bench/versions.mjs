// Benchmark: one row per Kubernetes version: the node image build (an empty factory cache, so
// binaries are linked, the root filesystem, preload images and node image built again; with
// --cold also empty Go module and build caches: everything compiled from scratch), the node
// image's size, and a cold `up` (no snapshot; node image cached) with the step durations and
// idle node memory. Writes bench/results/versions-<date>.json and prints it on stdout.
//   node bench/versions.mjs [--versions v1.34.4,v1.36.3] [--nodes N] [--cold] [--skip-build]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clean, containerdMajorFor, DEFAULT_KUBERNETES_VERSION, ensureImage, loadConfig, resolveKubernetesRelease, up } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { bridge } from '@local-cluster/cni-bridge';
import { nodeImage } from '@local-cluster/images';
import { nodeMemory, recorder, stderrLogger, timed, withColdGoCaches } from './lib.mjs';

const { values } = parseArgs({
  options: {
    versions: { type: 'string', default: `${DEFAULT_KUBERNETES_VERSION},v1.36.3` },
    nodes: { type: 'string', default: '1' },
    cold: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    subnet: { type: 'string', default: '10.234.0.0/16' },
  },
});
const versions = values.versions.split(',').map((v) => v.trim()).filter(Boolean);
const driver = dockerDriver();
const signal = new AbortController().signal;
const logger = stderrLogger;
const NAME = 'ver-bench';

async function benchVersion(version) {
  const { config } = loadConfig({
    overrides: { cluster: { name: NAME, numNodes: Number(values.nodes), addons: [] }, source: { kubernetesVersion: version }, dind: { subnet: values.subnet } },
    env: {},
  });
  const release = await resolveKubernetesRelease(version, { signal });
  const image = nodeImage(config);
  const row = {
    kubernetesVersion: version,
    nodeImage: image.ref,
    go: release.go,
    goToolchain: release.toolchain ?? `local ${release.localGo}`,
    etcd: release.images.etcd,
    coredns: release.images.coredns,
    pause: release.images.pause,
    containerd: containerdMajorFor(version) === 2 ? '2 (built from Go modules)' : "1.6.20 (Debian's)",
  };

  if (!values['skip-build']) {
    // the same recipe built again with an empty factory cache (and, --cold, empty Go caches)
    const build = async (scratch) => {
      const [, ms] = await timed(() =>
        ensureImage({ image, neededBy: 'bench' }, { driver, cacheDir: join(scratch, 'factory', 'cache'), logger, signal, rebuild: true }),
      );
      return ms;
    };
    if (values.cold) row.build = { mode: 'cold: empty Go module, Go build and factory caches', ms: await withColdGoCaches('lc-bench-versions-', build) };
    else {
      const scratch = mkdtempSync(join(tmpdir(), 'lc-bench-versions-'));
      try {
        row.build = { mode: 'warm Go caches, empty factory cache', ms: await build(scratch) };
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
  } else {
    await ensureImage({ image, neededBy: 'bench' }, { driver, cacheDir: join(tmpdir(), 'lc-bench-versions-unused'), logger, signal });
  }
  row.imageSizeBytes = (await driver.images.inspect(image.ref))?.size;

  await clean({ driver, cluster: NAME, userKubeconfig: false });
  const rec = recorder(`up ${version}`);
  try {
    const [cluster, ms] = await timed(() => up({ config, driver, cni: bridge(), nodeImage: image, userKubeconfig: false, onEvent: rec.onEvent }));
    const memory = {};
    for (const node of cluster.nodes) memory[node.hostname] = await nodeMemory(node);
    const runtime = await cluster.nodes[0].run(['containerd', '--version']);
    row.containerdVersion = runtime.stdout.trim();
    row.up = { totalMs: ms, steps: rec.steps };
    row.nodeMemoryAfterUp = memory;
  } finally {
    await clean({ driver, cluster: NAME, userKubeconfig: false });
  }
  return row;
}

const rows = [];
for (const version of versions) {
  process.stderr.write(`== ${version}\n`);
  rows.push(await benchVersion(version));
}
const info = await driver.info();
const result = {
  date: new Date().toISOString(),
  engine: info.engineVersion,
  cgroupVersion: info.cgroupVersion,
  securityMode: info.securityMode,
  nodes: 1 + Number(values.nodes),
  rows,
};
const text = JSON.stringify(result, null, 2);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL(`versions-${result.date.slice(0, 10)}.json`, dir), `${text}\n`);
console.log(text);
