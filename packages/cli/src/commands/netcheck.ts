import { defineCommand } from 'citty';
import { makeLogger, LocalClusterError } from '@local-cluster/core';
import { NETCHECK_CASES, renderTable, selectCases, type NetcheckReport } from '@local-cluster/verify';
import { netcheckWithLoadBalancer } from '../netcheck-run.js';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

function printReport(report: NetcheckReport): void {
  const out = process.stdout;
  out.write(`\nService truth tables for ${report.cluster}: Kubernetes ${report.kubernetesVersion}, CNI ${report.cni}, kube-proxy ${report.proxyMode}, nodes ${report.nodes.join(', ')}\n`);
  out.write('(. = reachable, X = not; rows are sources, numbered columns the targets listed above each grid)\n');
  for (const c of report.cases) {
    if (c.status === 'skipped') {
      out.write(`\nSKIP ${c.name}: ${c.reason}\n`);
      continue;
    }
    if (c.reason) out.write(`\nFAIL ${c.name}: ${c.reason}\n`);
    for (const t of c.tables) out.write(`\n${renderTable(t)}\n`);
  }
  const cells = `${report.cells.asExpected} of ${report.cells.total} cells as expected`;
  out.write(
    `\n${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''} (cases; ${cells}) in ${(report.durationMs / 1000).toFixed(1)}s\n`,
  );
  if (report.failed) out.write(`Failed: ${report.cases.filter((c) => c.status === 'failed').map((c) => c.name).join(', ')}\n`);
}

export default defineCommand({
  meta: {
    name: 'netcheck',
    description:
      'Service truth tables: agnhost servers on every node and its host network, every Service type probed from every source, with negative controls; exit 1 when a cell differs from what it should be.',
  },
  args: {
    case: { type: 'positional', required: false, description: `Cases to run (default: all): ${NETCHECK_CASES.map((c) => c.name).join(', ')}.` },
    list: { type: 'boolean', description: 'List the cases and what each checks, run nothing.' },
    keep: { type: 'boolean', description: 'Keep the test namespace afterwards, to look at it with kubectl.' },
    'lb-addon': {
      type: 'boolean',
      default: true,
      description: 'When the cluster has no LoadBalancer implementation, install the metallb addon for the loadbalancer case (it stays); --no-lb-addon skips that case instead.',
    },
    attempts: { type: 'string', valueHint: 'N', description: 'Probe rounds per table before a cell counts as failed (default 6, 2 s apart).' },
    ...settingArgs(),
    ...outputArgs,
  },
  async run({ args }) {
    const names = (args._ as string[]).map(String).filter(Boolean);
    if (args.list) {
      for (const c of NETCHECK_CASES) process.stdout.write(`${c.name.padEnd(14)} ${c.description}${c.minNodes ? ` (needs ${c.minNodes} nodes)` : ''}\n`);
      return;
    }
    // bad case names are refused before the cluster is touched
    selectCases(names);
    const attempts = args.attempts === undefined ? undefined : Number(args.attempts);
    if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1 || attempts > 100)) {
      throw new LocalClusterError(`--attempts ${String(args.attempts)} is not a number of probe rounds.`, { hint: 'Give a whole number from 1 to 100 (default 6).' });
    }
    const loaded = configFromArgs(args);
    const mode = progressMode(Boolean(args.json));
    const render = progressRenderer(mode, loaded.config.verbose);
    const { signal, dispose } = interruptSignal();
    try {
      const logger = makeLogger(render, () => 'netcheck');
      const driver = createDriver(loaded);
      if (driver.location?.remote) {
        logger.warn(
          `the engine runs on another machine (${driver.location.endpoint}): the cells probed from this machine (source "host") reach the nodes only if this machine routes to ${loaded.config.dind.subnet} on it; without that route they fail`,
        );
      }
      const report = await netcheckWithLoadBalancer(loaded, {
        driver,
        cases: names,
        lbAddon: Boolean(args['lb-addon']),
        logger,
        signal,
        keep: Boolean(args.keep),
        ...(attempts ? { attempts } : {}),
        onTable: (t) => {
          if (mode === 'json') process.stderr.write(JSON.stringify({ type: 'table', name: t.name, ok: t.cells.every((c) => c.expected === c.observed), durationMs: Math.round(t.durationMs) }) + '\n');
        },
      });
      if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printReport(report);
      if (report.failed > 0) process.exitCode = 1;
    } finally {
      dispose();
    }
  },
});
