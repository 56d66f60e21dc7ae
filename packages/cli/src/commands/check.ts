import { defineCommand } from 'citty';
import type { Driver } from '@local-cluster/core';
import { runQuickChecks, type QuickChecksReport } from '@local-cluster/verify';
import { TOOLBOX_IMAGE } from '@local-cluster/images';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

function printChecks(report: QuickChecksReport): void {
  for (const r of report.results) {
    if (r.skipped) process.stdout.write(`SKIP ${r.name}: ${r.skipped}\n`);
    else process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${(r.durationMs / 1000).toFixed(1)}s)${r.ok ? '' : `: ${r.error}`}\n`);
  }
  process.stdout.write(`${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped (not applicable)` : ''}\n`);
}

/** Runs the quick checks, prints them (or their JSON), and sets a failing exit code when one fails. */
export async function quickChecks(driver: Driver, cluster: string, options: { focus?: string; json: boolean; signal: AbortSignal }): Promise<void> {
  const report = await runQuickChecks({ driver, cluster, probeImage: TOOLBOX_IMAGE, ...(options.focus ? { focus: options.focus } : {}), signal: options.signal });
  if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printChecks(report);
  if (report.failed > 0) process.exitCode = 1;
}

export const checkCmd = defineCommand({
  meta: {
    name: 'check',
    description:
      'Run the quick checks against the cluster in about a minute: nodes Ready, CoreDNS, the API server, namespaces, CRDs, pods on every node reaching each other and Services from every node, NetworkPolicy where the CNI enforces it.',
  },
  args: {
    focus: { type: 'positional', required: false, description: 'Only checks whose name contains this text, e.g. NetworkPolicy.' },
    ...settingArgs(),
    ...outputArgs,
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const { signal, dispose } = interruptSignal();
    try {
      await quickChecks(createDriver(loaded), loaded.config.cluster.name, { ...(args.focus ? { focus: String(args.focus) } : {}), json: Boolean(args.json), signal });
    } finally {
      dispose();
    }
  },
});
