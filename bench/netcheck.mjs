// Benchmark and matrix: the Service truth tables (`local-cluster netcheck`) on 3 nodes for every
// CNI x kube-proxy mode asked for. Per combination: `up` (no addons), `netcheck --json` (which
// installs the metallb addon on demand), every case's outcome and time, then `clean`.
// Prints JSON on stdout (progress on stderr); the matrix in docs/testing/netcheck.md is made from it.
//   node bench/netcheck.mjs [--combos bridge/iptables,bridge/nftables,flannel/iptables,...] [--nodes 2]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    combos: { type: 'string', default: 'bridge/iptables,bridge/nftables,flannel/iptables,flannel/nftables,calico/iptables,calico/nftables' },
    nodes: { type: 'string', default: '2' },
  },
});
const CLI = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const NAME = 'bench-netcheck';
const SUBNET = '10.203.0.0/16';

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
for (const combo of values.combos.split(',')) {
  const [cni, proxy] = combo.split('/');
  process.stderr.write(`\n== ${cni} / kube-proxy ${proxy}\n`);
  await cli(['clean', '--name', NAME]);
  const upRun = await cli(['up', '--name', NAME, '--dind-subnet', SUBNET, '--num-nodes', values.nodes, '--addons', '', '--cni-plugin', cni, '--kube-proxy-mode', proxy]);
  if (upRun.code !== 0) {
    runs.push({ cni, proxyMode: proxy, up: { ok: false, ms: upRun.ms, error: upRun.stderr.slice(-600) } });
    continue;
  }
  const check = await cli(['netcheck', '--name', NAME, '--json']);
  let report;
  try {
    report = JSON.parse(check.stdout);
  } catch {
    runs.push({ cni, proxyMode: proxy, up: { ok: true, ms: upRun.ms }, netcheck: { ok: false, exit: check.code, error: check.stderr.slice(-600) } });
    await cli(['clean', '--name', NAME]);
    continue;
  }
  const metallbInstall = /installing the metallb addon/.test(check.stderr);
  runs.push({
    cni,
    proxyMode: proxy,
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
      cases: report.cases.map((c) => ({
        name: c.name,
        status: c.status,
        ms: Math.round(c.durationMs),
        ...(c.reason ? { reason: c.reason } : {}),
        mismatched: c.tables.flatMap((t) => t.cells.filter((x) => x.expected !== x.observed).map((x) => `${t.name}: ${x.source} -> ${x.target}`)),
      })),
    },
  });
  await cli(['clean', '--name', NAME]);
}
process.stdout.write(JSON.stringify({ date: new Date().toISOString(), runs }, null, 2) + '\n');
