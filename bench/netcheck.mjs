// Benchmark and matrix: the Service truth tables (`local-cluster netcheck`) on 3 nodes for every
// CNI x kube-proxy mode asked for. Per combination: `up` (no addons), `netcheck --json` (which
// installs the metallb addon on demand), every case's outcome and time, then `clean`.
// Prints JSON on stdout (progress on stderr); the matrix in docs/testing/netcheck.md is made from it.
// --families runs each combination in each address family (cluster.ipFamily: ipv4, dual, ipv6);
// --out also writes the JSON to a file after every run (a long matrix keeps what it measured).
//   node bench/netcheck.mjs [--combos bridge/iptables,bridge/nftables,flannel/iptables,...] [--nodes 2]
//     [--families ipv4,dual,ipv6] [--name bench-netcheck] [--subnet 10.203.0.0/16] [--subnet6 CIDR] [--out FILE]
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    combos: { type: 'string', default: 'bridge/iptables,bridge/nftables,flannel/iptables,flannel/nftables,calico/iptables,calico/nftables' },
    nodes: { type: 'string', default: '2' },
    families: { type: 'string', default: 'ipv4' },
    name: { type: 'string', default: 'bench-netcheck' },
    subnet: { type: 'string', default: '10.203.0.0/16' },
    subnet6: { type: 'string' },
    out: { type: 'string' },
  },
});
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const NAME = values.name;
const SUBNET = values.subnet;

function cli(args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      process.stderr.write(c);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const runs = [];
const save = () => values.out && writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), runs }, null, 2) + '\n');
/** Cells per address family of a report (a dual-stack run has two). */
const cellsByFamily = (report) =>
  Object.fromEntries(
    (report.families ?? ['ipv4']).map((family) => {
      const cells = report.cases.filter((c) => (c.family ?? 'ipv4') === family).flatMap((c) => c.tables.flatMap((t) => t.cells));
      return [family, { total: cells.length, asExpected: cells.filter((x) => x.expected === x.observed).length }];
    }),
  );
for (const family of values.families.split(',')) for (const combo of values.combos.split(',')) {
  const [cni, proxy] = combo.split('/');
  process.stderr.write(`\n== ${cni} / kube-proxy ${proxy} / ${family}\n`);
  await cli(['clean', '--name', NAME]);
  const upRun = await cli(['up', '--name', NAME, '--dind-subnet', SUBNET, '--num-nodes', values.nodes, '--addons', '', '--cni-plugin', cni, '--kube-proxy-mode', proxy, ...(family === 'ipv4' ? [] : ['--ip-family', family, ...(values.subnet6 ? ['--dind-subnet6', values.subnet6] : [])])]);
  if (upRun.code !== 0) {
    runs.push({ cni, proxyMode: proxy, ipFamily: family, up: { ok: false, ms: upRun.ms, error: upRun.stderr.slice(-600) } });
    save();
    continue;
  }
  const check = await cli(['netcheck', '--name', NAME, '--json']);
  let report;
  try {
    report = JSON.parse(check.stdout);
  } catch {
    runs.push({ cni, proxyMode: proxy, ipFamily: family, up: { ok: true, ms: upRun.ms }, netcheck: { ok: false, exit: check.code, error: check.stderr.slice(-600) } });
    await cli(['clean', '--name', NAME]);
    save();
    continue;
  }
  const metallbInstall = /installing the metallb addon/.test(check.stderr);
  runs.push({
    cni,
    proxyMode: proxy,
    ipFamily: family,
    kubernetesVersion: report.kubernetesVersion,
    nodes: report.nodes.length,
    up: { ok: true, ms: Math.round(upRun.ms) },
    netcheck: {
      exit: check.code,
      wallMs: Math.round(check.ms),
      tablesMs: Math.round(report.durationMs),
      metallbInstalledOnDemand: metallbInstall,
      passed: report.passed,
      failed: report.failed,
      skipped: report.skipped,
      cells: report.cells,
      cellsByFamily: cellsByFamily(report),
      cases: report.cases.map((c) => ({
        name: c.name,
        ...(c.family ? { family: c.family } : {}),
        status: c.status,
        ms: Math.round(c.durationMs),
        ...(c.reason ? { reason: c.reason } : {}),
        mismatched: c.tables.flatMap((t) => t.cells.filter((x) => x.expected !== x.observed).map((x) => `${t.name}: ${x.source} -> ${x.target}`)),
      })),
    },
  });
  await cli(['clean', '--name', NAME]);
  save();
}
process.stdout.write(JSON.stringify({ date: new Date().toISOString(), runs }, null, 2) + '\n');
