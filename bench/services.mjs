// Benchmark: services mode (`up --mode services`): the wall time of the CLI as a user sees it,
// from a cached services image, over several runs (each followed by `down`), the step durations,
// the container's memory once ready and the image's size. Writes
// bench/results/services-<date>.json and prints it on stdout.
//   node bench/services.mjs [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clean, DEFAULT_KUBERNETES_VERSION } from '@local-cluster/core';
import { dockerDriver } from '@local-cluster/docker-driver';
import { nodeMemory } from './lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, subnet: { type: 'string', default: '10.251.0.0/16' } } });
const NAME = 'bench-svc';
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const driver = dockerDriver();
const cli = (args) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`local-cluster ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return r.stdout + r.stderr;
};
const args = ['--name', NAME, '--mode', 'services', '--dind-subnet', values.subnet, '--json'];

await clean({ driver, cluster: NAME, userKubeconfig: false });
// the first run builds the services image when it is missing: not counted
cli(['up', ...args.slice(0, -1)]);
cli(['down', '--name', NAME]);
const runs = [];
let memory;
for (let i = 0; i < Number(values.runs); i++) {
  const started = performance.now();
  const out = cli(['up', ...args]);
  const wallMs = Math.round(performance.now() - started);
  const events = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const steps = Object.fromEntries(events.filter((e) => e.type === 'step-end').map((e) => [e.step, Math.round(e.durationMs)]));
  runs.push({ wallMs, steps });
  process.stderr.write(`run ${i + 1}: ${wallMs} ms ${JSON.stringify(steps)}\n`);
  if (i === 0) {
    const [node] = await driver.listNodes({ cluster: NAME, role: 'node' });
    await new Promise((r) => setTimeout(r, 5000));
    memory = await nodeMemory(node);
  }
  cli(['down', '--name', NAME]);
}
await clean({ driver, cluster: NAME, userKubeconfig: false });
const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
const imageBytes = Number(execFileSync('docker', ['image', 'inspect', '--format', '{{.Size}}', `docker.io/local-cluster/services:${DEFAULT_KUBERNETES_VERSION}`], { encoding: 'utf8' }).trim());
const result = {
  date: new Date().toISOString(),
  what: '`local-cluster up --mode services` wall time (CLI start to exit, cached image), then `down`',
  kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
  runs: runs.length,
  wallMs: { min: walls[0], median: walls[Math.floor(walls.length / 2)], max: walls[walls.length - 1] },
  perRun: runs,
  memoryAfterReadyMiB: Math.round(memory.workingSetBytes / 2 ** 20),
  imageMB: Math.round(imageBytes / 1e6),
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/services-${result.date.slice(0, 10)}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
