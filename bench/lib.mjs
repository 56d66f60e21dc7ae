import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridge } from '@local-cluster/cni-bridge';
import { flannel } from '@local-cluster/cni-flannel';
import { calico } from '@local-cluster/cni-calico';

// Helpers shared by the bench scripts.

/** A node's working set (usage minus inactive page cache), as `docker stats` and `kubectl top` count it. */
export async function nodeMemory(node) {
  // the node's own cgroup (private cgroup namespace): v1 memory controller, or v2
  const v1 = await node.run(['cat', '/sys/fs/cgroup/memory/memory.usage_in_bytes', '/sys/fs/cgroup/memory/memory.stat']);
  if (v1.exitCode === 0) {
    const [usage, ...stat] = v1.stdout.trim().split('\n');
    const inactive = Number(stat.find((l) => l.startsWith('total_inactive_file '))?.split(' ')[1] ?? 0);
    return { workingSetBytes: Number(usage) - inactive, usageBytes: Number(usage) };
  }
  const v2 = await node.run(['cat', '/sys/fs/cgroup/memory.current', '/sys/fs/cgroup/memory.stat']);
  const [usage, ...stat] = v2.stdout.trim().split('\n');
  const inactive = Number(stat.find((l) => l.startsWith('inactive_file '))?.split(' ')[1] ?? 0);
  return { workingSetBytes: Number(usage) - inactive, usageBytes: Number(usage) };
}

/** Records each step's duration and prints it to stderr. */
export function recorder(phase) {
  const steps = [];
  return {
    steps,
    onEvent(e) {
      if (e.type === 'step-end') {
        steps.push({ step: e.step, ms: Math.round(e.durationMs) });
        process.stderr.write(`${phase}: ${e.title} ${(e.durationMs / 1000).toFixed(1)}s\n`);
      }
    },
  };
}

/** Runs fn; returns its result and how long it took in ms. */
export const timed = async (fn) => {
  const t = performance.now();
  const result = await fn();
  return [result, Math.round(performance.now() - t)];
};

/** The built-in CNI plugins a bench can bring up, by name. */
export const CNI_PLUGINS = { bridge, flannel, calico };

/** Splits a `--cni a,b` value; throws naming the flag when a name is not a built-in plugin. */
export function cniList(value) {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) if (!CNI_PLUGINS[name]) throw new Error(`--cni must list some of ${Object.keys(CNI_PLUGINS).join(', ')}`);
  return names;
}

/** Progress of the factory and the runner on stderr (stdout is the JSON result). */
export const stderrLogger = { info: (m) => process.stderr.write(`  ${m}\n`), debug: () => undefined, warn: (m) => process.stderr.write(`  warning: ${m}\n`) };

/**
 * Runs fn(scratchDir) with Go module and build caches of its own, both empty (a cold build),
 * then restores the environment and removes the scratch directory.
 */
export async function withColdGoCaches(prefix, fn) {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  const saved = { GOCACHE: process.env.GOCACHE, GOMODCACHE: process.env.GOMODCACHE };
  process.env.GOCACHE = join(scratch, 'gocache');
  process.env.GOMODCACHE = join(scratch, 'gomodcache');
  try {
    return await fn(scratch);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    // the module cache is read-only on disk
    rmSync(scratch, { recursive: true, force: true, maxRetries: 2 });
  }
}

/**
 * API latency as a client sees it: `count` sequential GETs of each path with the kubeconfig's
 * client certificate (admin), timed from request to the last byte; p50/p99/max in ms per path.
 */
export async function apiLatency(kubeconfigPath, paths, count = 50) {
  const { readFileSync } = await import('node:fs');
  const { request } = await import('node:https');
  const yaml = (await import('js-yaml')).default;
  const kc = yaml.load(readFileSync(kubeconfigPath, 'utf8'));
  const cluster = kc.clusters[0].cluster;
  const user = kc.users[0].user;
  const b64 = (v) => Buffer.from(v, 'base64');
  const url = new URL(cluster.server);
  const tls = { ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) };
  const once = (path) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request({ host: url.hostname, port: url.port, path, method: 'GET', ...tls, headers: { accept: 'application/json' } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  const out = {};
  for (const path of paths) {
    const times = [];
    for (let i = 0; i < count; i++) times.push(await once(path));
    times.sort((a, b) => a - b);
    const at = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
    out[path] = { count, p50: at(0.5), p99: at(0.99), max: at(1) };
  }
  return out;
}

/** CPU cores a container used over `ms` (cgroup v1 cpuacct or v2 cpu.stat), and its memory now. */
export async function containerLoad(node, ms = 20_000) {
  const read = async () => {
    const v1 = await node.run(['cat', '/sys/fs/cgroup/cpuacct/cpuacct.usage']);
    if (v1.exitCode === 0) return Number(v1.stdout.trim()) / 1e9;
    const v2 = await node.run(['cat', '/sys/fs/cgroup/cpu.stat']);
    return Number(/usage_usec (\d+)/.exec(v2.stdout)?.[1] ?? 0) / 1e6;
  };
  const before = await read();
  await new Promise((r) => setTimeout(r, ms));
  const cores = (await read() - before) / (ms / 1000);
  return { cores: Math.round(cores * 1000) / 1000, ...(await nodeMemory(node)) };
}
