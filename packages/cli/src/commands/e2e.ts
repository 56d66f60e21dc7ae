import { defineCommand } from 'citty';
import { runE2e } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { createDriver } from '../wiring.js';
import { TOOLBOX_IMAGE } from '@local-cluster/images';
import { interruptSignal } from '../signals.js';

function e2eCommand(name: 'e2e' | 'e2e-serial', serial: boolean) {
  return defineCommand({
    meta: {
      name,
      description: serial
        ? 'Run the serial conformance checks against the cluster, one at a time.'
        : 'Run the conformance checks against the cluster (in parallel).',
    },
    args: {
      focus: { type: 'positional', required: false, description: 'Only checks whose name contains this text.' },
      ...settingArgs(),
      ...outputArgs,
    },
    async run({ args }) {
      const loaded = configFromArgs(args);
      const { signal, dispose } = interruptSignal();
      try {
        const report = await runE2e({
          driver: createDriver(loaded),
          cluster: loaded.config.cluster.name,
          serial,
          probeImage: TOOLBOX_IMAGE,
          ...(args.focus ? { focus: String(args.focus) } : {}),
          signal,
        });
        if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          for (const r of report.results) {
            if (r.skipped) process.stdout.write(`SKIP ${r.name}: ${r.skipped}\n`);
            else process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${(r.durationMs / 1000).toFixed(1)}s)${r.ok ? '' : `: ${r.error}`}\n`);
          }
          process.stdout.write(`${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped (not applicable)` : ''}\n`);
        }
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        dispose();
      }
    },
  });
}

export const e2eCmd = e2eCommand('e2e', false);
export const e2eSerialCmd = e2eCommand('e2e-serial', true);
