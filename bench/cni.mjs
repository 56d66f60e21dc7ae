// Benchmark: the image factory on each CNI's images (cold: empty Go module and build caches and an
// empty factory cache; warm: nothing changed), the images' sizes, and `up` time and idle node memory
// with each CNI, side by side in one run. Prints JSON on stdout (progress on stderr).
//   node bench/cni.mjs [--cni bridge,flannel,calico] [--nodes N] [--skip-cold]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clean, ensureImage, imageCacheDir, loadConfig, localClusterHome, up } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { CNI_PLUGINS, cniList, nodeMemory, recorder, stderrLogger, timed, withColdGoCaches } from './lib.mjs';
import { nodeImage } from '@local-cluster/images';

const { values } = parseArgs({
  options: { cni: { type: 'string', default: 'bridge,flannel,calico' }, nodes: { type: 'string', default: '2' }, 'skip-cold': { type: 'boolean', default: false } },
});
const cniNames = cniList(values.cni);
const driver = dockerDriver();
const signal = new AbortController().signal;
const logger = stderrLogger;

async function benchCni(name) {
  const cni = CNI_PLUGINS[name]();
  const { config } = loadConfig({ overrides: { cluster: { name: 'bench-cni', numNodes: Number(values.nodes), cniPlugin: name } }, env: {} });
  const images = (cni.images?.(config) ?? []).map((image) => ({ image, neededBy: `CNI plugin "${cni.name}"` }));

  const factory = { cold: null, warm: [] };
  if (!values['skip-cold'] && images.length) {
    // cold: the images removed, and a factory cache and Go caches of their own, all empty
    for (const { image } of images) await driver.images.remove(image.ref, { role: 'image' }).catch(() => undefined);
    const perImage = [];
    await withColdGoCaches('lc-bench-factory-', async (scratch) => {
      for (const needed of images) {
        const [, ms] = await timed(() => ensureImage(needed, { driver, cacheDir: join(scratch, 'factory'), logger, signal }));
        perImage.push({ ref: needed.image.ref, ms });
      }
    });
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
    await clean({ driver, cluster: 'bench-cni', userKubeconfig: false });
    const rec = recorder(`up (${plugin.name})`);
    const [, ms] = await timed(() => up({ config, driver, cni: plugin, nodeImage: nodeImage(config), userKubeconfig: false, onEvent: rec.onEvent }));
    // idle memory a minute after up, every node
    await new Promise((r) => setTimeout(r, 60_000));
    const memory = {};
    for (const node of await driver.listNodes({ cluster: 'bench-cni', role: 'node' })) memory[node.hostname] = await nodeMemory(node);
    await clean({ driver, cluster: 'bench-cni', userKubeconfig: false });
    return { totalMs: ms, steps: rec.steps, nodeMemoryIdle: memory };
  }
  return { cni: cni.name, factory, imageSizeBytes: sizes, up: await timeUp(cni) };
}

const results = [];
for (const name of cniNames) results.push(await benchCni(name));

const info = await driver.info();
console.log(
  JSON.stringify(
    { date: new Date().toISOString(), engine: info.engineVersion, nodes: 1 + Number(values.nodes), results },
    null,
    2,
  ),
);
