// Benchmark of the test suite: runs `npm test` (scripts/test.sh) on a fresh clone of HEAD and
// writes what it took to bench/results/suite-DATE-{warm,cold}.json: the wall time, each phase
// (setup, typecheck + lint, unit, Deno, waiting for the default images, cluster tests), each cluster test file's
// time and test counts, and each image build the run made (from the build logs it left).
//   node bench/suite.mjs [--cold] [--keep] [--out FILE]
//   node bench/suite.mjs --from DIR --wall SECONDS [--cold] [--since ISO] [--out FILE]: only read the reports a
//   run already left in checkout DIR (its wall time given; build logs counted from --since)
// --cold measures what a new machine sees without touching this machine's own caches: an empty
// HOME (so an empty ~/.local-cluster), empty Go module, Go build and npm caches (temporary
// directories, removed afterwards unless --keep), none of our images in the engine (only images
// labelled as local-cluster's are removed, as `clean` would) and the engine restarted.
// Progress goes to stderr; the JSON goes to the file and to stdout.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { cold: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false }, out: { type: 'string' }, from: { type: 'string' }, wall: { type: 'string' }, since: { type: 'string' } } });
const kind = values.cold ? 'cold' : 'warm';
const startedAt = new Date();
const say = (m) => process.stderr.write(`[bench:suite] ${m}\n`);

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...opts }).trim();
function spawnSync(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function restartEngine() {
  if (spawnSync('systemctl', ['is-active', '--quiet', 'docker'])) {
    sh('systemctl', ['restart', 'docker']);
    return;
  }
  // a dockerd started by scripts/ensure-docker.sh: stop it; the test script starts it again
  const pid = existsSync('/var/run/docker.pid') ? Number(readFileSync('/var/run/docker.pid', 'utf8')) : 0;
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 600 && existsSync(`/proc/${pid}`); i += 1) execFileSync('sleep', ['0.1']);
}

const work = values.from ? undefined : mkdtempSync(join(tmpdir(), `lc-suite-${kind}-`));
const checkout = values.from ?? join(work, 'local-cluster');
const commit = sh('git', ['rev-parse', 'HEAD'], { cwd: values.from ?? ROOT });
const env = { ...process.env, CI: process.env.CI ?? '1' };
let began = values.since ? Date.parse(values.since) : Date.now();
let code = values.from ? null : 0; // unknown for a run only read
let wallSeconds = Number(values.wall ?? 0);
/** Share of the cores busy in each 10 s of the run (a run only read has none). */
const cpuBusy = [];
/** CPU-seconds of each of our containers (by id), the largest reading seen, and its cluster's name: sampled every 10 s. */
const containerCpu = new Map();
/** A container's CPU time so far in seconds, from its cgroup (v1 cpuacct or v2 cpu.stat), or undefined. */
function containerCpuSeconds(id) {
  for (const [file, parse] of [
    [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, (t) => Number(t) / 1e9],
    [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, (t) => Number(/usage_usec (\d+)/.exec(t)?.[1]) / 1e6],
    [`/sys/fs/cgroup/docker/${id}/cpu.stat`, (t) => Number(/usage_usec (\d+)/.exec(t)?.[1]) / 1e6],
  ]) {
    try {
      const v = parse(readFileSync(file, 'utf8'));
      if (Number.isFinite(v)) return v;
    } catch {
      // not this cgroup layout
    }
  }
  return undefined;
}

/** Reads the CPU time of every running container of ours (labelled with a cluster), asynchronously. */
function sampleContainers() {
  execFile('docker', ['ps', '--filter', 'label=dev.local-cluster.cluster', '--format', '{{.ID}}\t{{.Label "dev.local-cluster.cluster"}}', '--no-trunc'], (err, out) => {
    if (err) return;
    for (const line of out.trim().split('\n').filter(Boolean)) {
      const [id, cluster] = line.split('\t');
      const seconds = containerCpuSeconds(id);
      if (seconds === undefined) continue;
      const seen = containerCpu.get(id);
      if (!seen || seconds > seen.seconds) containerCpu.set(id, { cluster, seconds });
    }
  });
}

/** The containers' CPU-seconds by cluster name, a trailing process id or random suffix dropped (one row per test's cluster). */
function cpuByCluster() {
  const rows = new Map();
  for (const { cluster, seconds } of containerCpu.values()) {
    const name = cluster.replace(/-\d{3,}$/, '').replace(/-\d{3,}-/, '-');
    rows.set(name, (rows.get(name) ?? 0) + seconds);
  }
  return [...rows].map(([cluster, seconds]) => ({ cluster, cpuSeconds: Math.round(seconds) })).sort((a, b) => b.cpuSeconds - a.cpuSeconds);
}

if (!values.from) {
  say(`fresh clone of ${commit.slice(0, 12)} in ${checkout}`);
  sh('git', ['clone', '--quiet', ROOT, checkout]);
  sh('git', ['checkout', '--quiet', commit], { cwd: checkout });

  if (values.cold) {
    const home = join(work, 'home');
    for (const dir of ['home', 'gocache', 'gomodcache', 'npm-cache']) mkdirSync(join(work, dir), { recursive: true });
    Object.assign(env, { HOME: home, GOCACHE: join(work, 'gocache'), GOMODCACHE: join(work, 'gomodcache'), npm_config_cache: join(work, 'npm-cache') });
    delete env.LOCAL_CLUSTER_HOME;
    // this machine's npm and Go settings (registry, proxy) still apply: copy them into the new HOME
    for (const file of ['.npmrc', '.config/go/env']) {
      const from = join(process.env.HOME ?? '/root', file);
      if (existsSync(from)) {
        mkdirSync(join(home, file, '..'), { recursive: true });
        writeFileSync(join(home, file), readFileSync(from));
      }
    }
    const engine = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}']);
    if (engine) {
      const ours = sh('docker', ['images', '-q', '--filter', 'label=dev.local-cluster.managed=true']).split('\n').filter(Boolean);
      const containers = sh('docker', ['ps', '-aq', '--filter', 'label=dev.local-cluster.managed=true']).split('\n').filter(Boolean);
      if (containers.length) sh('docker', ['rm', '-f', ...containers]);
      if (ours.length) {
        say(`removing ${ours.length} image(s) labelled as local-cluster's`);
        spawnSync('docker', ['rmi', '-f', ...new Set(ours)]);
      }
      say('restarting the engine');
      restartEngine();
    }
  }

  say(`running npm test (${kind}); its output: ${join(work, 'test.log')}`);
  began = Date.now();
  // how busy the cores were, every 10 s: the share of CPU time not idle (from /proc/stat)
  const cpuTimes = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  let previous = existsSync('/proc/stat') ? cpuTimes() : undefined;
  const sampler = previous && setInterval(() => {
    const now = cpuTimes();
    const delta = now.map((v, i) => v - previous[i]);
    const all = delta.reduce((a, b) => a + b, 0);
    cpuBusy.push(all ? Math.round((1 - (delta[3] + delta[4]) / all) * 100) / 100 : 0); // idle + iowait
    previous = now;
    sampleContainers();
  }, 10_000);
  code = await new Promise((resolve) => {
    const child = spawn('bash', ['scripts/test.sh'], { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = [];
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (d) => {
      log.push(d);
      process.stderr.write(d);
    });
    child.on('close', (c) => {
      writeFileSync(join(work, 'test.log'), Buffer.concat(log));
      resolve(c ?? 1);
    });
  });
  wallSeconds = Math.round((Date.now() - began) / 1000);
  if (sampler) clearInterval(sampler);
}

const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // missing, or cut short by a failed run
  }
};
const phases = readJson(join(checkout, '.test-phases.json'));

/** Passed/failed/skipped of one vitest JSON report. */
const counts = (r) => ({ passed: r?.numPassedTests ?? 0, failed: (r?.numFailedTests ?? 0) + (r?.numRuntimeErrorTestSuites ?? 0), skipped: (r?.numPendingTests ?? 0) + (r?.numTodoTests ?? 0) });
const reports = {};
for (const dir of ['packages', 'examples']) {
  for (const pkg of readdirSync(join(checkout, dir))) {
    const r = readJson(join(checkout, dir, pkg, 'test-results.json'));
    if (r) reports[`${dir}/${pkg}`] = counts(r);
  }
}
const imagesReport = readJson(join(checkout, 'images', 'test-results.json'));
if (imagesReport) reports.images = counts(imagesReport);
reports.deno = counts(readJson(join(checkout, '.test-results-deno.json')));
// the side-by-side group, then the files that run alone
const clusterGroups = { 'side-by-side': 'test-results.json', alone: 'test-results-alone.json' };
const files = [];
for (const [group, file] of Object.entries(clusterGroups)) {
  const report = readJson(join(checkout, 'tests', 'clusters', file));
  reports[`clusters ${group}`] = counts(report);
  files.push(...(report?.testResults ?? []).map((f) => ({ group, ...f })));
}
const clusterFiles = files
  .map((f) => ({
    file: f.name.replace(`${checkout}/`, ''),
    group: f.group,
    seconds: Math.round((f.endTime - f.startTime) / 100) / 10,
    startedAtSecond: Math.round((f.startTime - began) / 1000),
    passed: f.assertionResults.filter((a) => a.status === 'passed').length,
    failed: f.assertionResults.filter((a) => a.status === 'failed').length,
    skipped: f.assertionResults.filter((a) => a.status !== 'passed' && a.status !== 'failed').length,
  }))
  .sort((a, b) => b.seconds - a.seconds);
/** The slowest cluster tests, their clusters' `up` included where a test brings one up. */
const slowestTests = files
  .flatMap((f) => f.assertionResults.map((a) => ({ file: f.name.replace(`${checkout}/`, ''), test: a.title, seconds: Math.round((a.duration ?? 0) / 100) / 10 })))
  .sort((a, b) => b.seconds - a.seconds)
  .slice(0, 30);

/** Image builds this run made: each build log's name carries its start, its last write its end. */
const home = env.LOCAL_CLUSTER_HOME ?? join(env.HOME ?? '/root', '.local-cluster');
const builds = [];
const stamp = /(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)\.log$/;
const walk = (dir, depth) => {
  if (!existsSync(dir) || depth > 4) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, depth + 1);
    const m = stamp.exec(entry.name);
    if (!entry.isFile() || !m) continue;
    const start = Date.parse(m[1].replace(/T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/, 'T$1:$2:$3.$4Z'));
    if (start < began) continue;
    const what = entry.name.replace(stamp, '').replace(/-$/, '');
    builds.push({ build: what, seconds: Math.round((statSync(path).mtimeMs - start) / 100) / 10, startedAtSecond: Math.round((start - began) / 1000), log: path.replace(home, '~/.local-cluster') });
  }
};
walk(join(home, 'logs'), 0);
walk(join(home, 'cache'), 0);
// a log of under a second is a build found in the binary cache: left out
const foundInCache = builds.filter((b) => b.seconds < 1).length;
builds.splice(0, builds.length, ...builds.filter((b) => b.seconds >= 1));
builds.sort((a, b) => b.seconds - a.seconds);

const total = Object.values(reports).reduce((t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed, skipped: t.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
const result = {
  bench: 'suite',
  kind,
  date: startedAt.toISOString(),
  commit,
  machine: { cpus: (await import('node:os')).cpus().length, memoryGiB: Math.round((await import('node:os')).totalmem() / 2 ** 30) },
  exitCode: code,
  wallSeconds,
  phases,
  tests: total,
  reports,
  clusterFiles,
  slowestTests,
  // what each cluster's containers used (sampled every 10 s: a container removed between two
  // samples loses up to 10 s of its time); the rest of the machine's time went to the test
  // processes, the CLI, kubectl, the builds and the engine
  clusterCpuSeconds: containerCpu.size ? cpuByCluster() : undefined,
  cpuBusy: cpuBusy.length ? { everySeconds: 10, mean: Math.round((cpuBusy.reduce((a, b) => a + b, 0) / cpuBusy.length) * 100) / 100, samples: cpuBusy } : undefined,
  imageBuilds: builds,
  buildLogsUnderOneSecond: foundInCache,
};
const out = values.out ?? join(ROOT, 'bench', 'results', `suite-${startedAt.toISOString().slice(0, 10)}-${kind}.json`);
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
say(`${kind}: ${wallSeconds} s, ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped; written to ${out}`);
if (work && !values.keep) rmSync(work, { recursive: true, force: true });
process.exit(code ?? 0);
