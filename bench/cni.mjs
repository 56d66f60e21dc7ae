// Benchmark: the image factory on a CNI's images (cold: empty Go module and build caches and an
// empty factory cache; warm: nothing changed), the images' sizes, and `up` time with that CNI next
// to `up` with the bridge CNI in the same run. Prints JSON on stdout (progress on stderr).
//   node bench/cni.mjs [--cni flannel] [--nodes N] [--skip-cold]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clean, ensureImage, imageCacheDir, loadConfig, localClusterHome, up } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { bridge } from '@local-cluster/cni-bridge';
import { flannel } from '@local-cluster/cni-flannel';
import { nodeImage } from '@local-cluster/images';

const { values } = parseArgs({
  options: { cni: { type: 'string', default: 'flannel' }, nodes: { type: 'string', default: '2' }, 'skip-cold': { type: 'boolean', default: false } },
});
const plugins = { flannel, bridge };
if (!plugins[values.cni]) throw new Error(`--cni must be one of ${Object.keys(plugins).join(', ')}`);
const driver = dockerDriver();
const signal = new AbortController().signal;
const logger = { info: (m) => process.stderr.write(`  ${m}\n`), debug: () => undefined, warn: (m) => process.stderr.write(`  warning: ${m}\n`) };
const timed = async (fn) => {
  const t = performance.now();
  const result = await fn();
  return [result, Math.round(performance.now() - t)];
};

const cni = plugins[values.cni]();
const { config } = loadConfig({ overrides: { cluster: { name: 'bench-cni', numNodes: Number(values.nodes), cniPlugin: values.cni } }, env: {} });
const images = (cni.images?.(config) ?? []).map((image) => ({ image, neededBy: `CNI plugin "${cni.name}"` }));

const factory = { cold: null, warm: [] };
if (!values['skip-cold'] && images.length) {
  // cold: the images removed, and a factory cache and Go caches of their own, all empty
  for (const { image } of images) await driver.images.remove(image.ref, { role: 'image' }).catch(() => undefined);
  const scratch = mkdtempSync(join(tmpdir(), 'lc-bench-factory-'));
  const saved = { GOCACHE: process.env.GOCACHE, GOMODCACHE: process.env.GOMODCACHE };
  process.env.GOCACHE = join(scratch, 'gocache');
  process.env.GOMODCACHE = join(scratch, 'gomodcache');
  const perImage = [];
  try {
    for (const needed of images) {
      const [, ms] = await timed(() => ensureImage(needed, { driver, cacheDir: join(scratch, 'factory'), logger, signal }));
      perImage.push({ ref: needed.image.ref, ms });
    }
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    // the module cache is read-only on disk
    rmSync(scratch, { recursive: true, force: true, maxRetries: 2 });
  }
  factory.cold = { totalMs: perImage.reduce((a, b) => a + b.ms, 0), perImage };
}
for (let i = 0; i < 3; i++) {
  for (const needed of images) {
    const [status, ms] = await timed(() => ensureImage(needed, { driver, cacheDir: imageCacheDir(localClusterHome()), logger, signal }));
    if (i > 0 || values['skip-cold']) factory.warm.push({ ref: needed.image.ref, state: status.state, ms });
  }
}
const sizes = {};
for (const { image } of images) sizes[image.ref] = (await driver.images.inspect(image.ref))?.size;

async function timeUp(plugin) {
  const { config: c } = loadConfig({ overrides: { cluster: { name: 'bench-cni', numNodes: Number(values.nodes), cniPlugin: plugin.name } }, env: {} });
  await clean({ driver, cluster: 'bench-cni', userKubeconfig: false });
  const steps = [];
  const [, ms] = await timed(() =>
    up({
      config: c,
      driver,
      cni: plugin,
      nodeImage: nodeImage(c),
      userKubeconfig: false,
      onEvent: (e) => {
        if (e.type === 'step-end') {
          steps.push({ step: e.step, ms: Math.round(e.durationMs) });
          process.stderr.write(`up (${plugin.name}): ${e.title} ${(e.durationMs / 1000).toFixed(1)}s\n`);
        }
      },
    }),
  );
  await clean({ driver, cluster: 'bench-cni', userKubeconfig: false });
  return { totalMs: ms, steps };
}
const upTimes = { [cni.name]: await timeUp(cni) };
if (cni.name !== 'bridge') upTimes.bridge = await timeUp(bridge());

const info = await driver.info();
console.log(
  JSON.stringify(
    { date: new Date().toISOString(), engine: info.engineVersion, cni: cni.name, nodes: 1 + Number(values.nodes), factory, imageSizeBytes: sizes, up: upTimes },
    null,
    2,
  ),
);
