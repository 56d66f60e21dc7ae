import { defineCommand } from 'citty';
import { makeLogger } from '@local-cluster/core';
import { e2eDefaultLabelFilter, runConformance, type ConformanceReport } from '@local-cluster/verify';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer, specPrinter } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';
import { printTable } from '../table.js';

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Per-SIG counts, the failures with their messages, the skips with their reasons. */
function printConformance(report: ConformanceReport): void {
  const out = process.stdout;
  if (report.tests) {
    for (const name of report.tests) out.write(`${name}\n`);
    out.write(`${report.selected} test(s) of Kubernetes ${report.kubernetesVersion} selected (labels "${report.labelFilter}"${report.focus ? `, focus "${report.focus}"` : ''})\n`);
    return;
  }
  const bySig = new Map<string, [number, number, number]>();
  for (const spec of report.specs) {
    const sig = /^\[(sig-[^\]]+)\]/.exec(spec.name)?.[1] ?? 'other';
    const row = bySig.get(sig) ?? [0, 0, 0];
    row[spec.state === 'passed' ? 0 : spec.state === 'skipped' ? 2 : 1] += 1;
    bySig.set(sig, row);
  }
  if (bySig.size) {
    out.write('\n');
    const rows = [...bySig.entries()].sort().map(([sig, [p, f, s]]) => [sig, String(p), String(f), String(s)]);
    rows.push(['total', String(report.passed), String(report.failed), String(report.skipped)]);
    printTable(['SIG', 'PASSED', 'FAILED', 'SKIPPED'], rows);
  }
  if (report.failures.length) {
    out.write('\nFailed:\n');
    for (const f of report.failures) {
      out.write(`  ✗ ${f.name}${f.location ? `\n      at ${f.location}` : ''}\n`);
      if (f.message) out.write(`${f.message.split('\n').slice(0, 6).map((l) => `      ${l}`).join('\n')}\n`);
    }
  }
  if (report.skips.length) {
    out.write('\nSkipped by the tests themselves:\n');
    for (const s of report.skips) out.write(`  - ${s.name}: ${(s.message ?? '').split('\n')[0]}\n`);
  }
  out.write(
    `\nKubernetes ${report.kubernetesVersion} e2e (labels "${report.labelFilter}"${report.focus ? `, focus "${report.focus}"` : ''}${report.skip ? `, skip "${report.skip}"` : ''}): ` +
      `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped of ${report.selected} in ${duration(report.durationMs)} (${report.parallelism} in parallel)\n` +
      `Reports: ${report.junit ?? report.reportDir} · log ${report.log}\n`,
  );
}

function e2eCommand(name: 'e2e' | 'e2e-serial', serial: boolean) {
  return defineCommand({
    meta: {
      name,
      description: serial
        ? 'Run the upstream Kubernetes [Serial] conformance tests against the cluster, one at a time (focus: a substring of test names).'
        : 'Run the upstream Kubernetes conformance tests against the cluster, in parallel (focus: a substring of test names). The quick checks are `local-cluster check`.',
    },
    args: {
      focus: { type: 'positional', required: false, description: 'Only tests whose full name contains this text, e.g. "[sig-network]" or DNS.' },
      skip: { type: 'string', valueHint: 'TEXT', description: 'Leave out tests whose name contains this text.' },
      'focus-regex': { type: 'string', valueHint: 'RE', description: 'Only tests whose name matches this regular expression (ginkgo --focus).' },
      'skip-regex': { type: 'string', valueHint: 'RE', description: 'Leave out tests whose name matches this regular expression.' },
      'label-filter': { type: 'string', valueHint: 'EXPR', description: `Ginkgo label filter (default "${e2eDefaultLabelFilter({ dual: false, sctp: true, serial })}"; on a dual-stack cluster "${e2eDefaultLabelFilter({ dual: true, sctp: true, serial })}", without the SCTP ones where the nodes' kernel has no SCTP).` },
      junit: { type: 'string', valueHint: 'DIR', description: 'Also write the JUnit XML report into DIR.' },
      list: { type: 'boolean', description: 'List the tests the filters select, run nothing.' },
      ...settingArgs(),
      ...outputArgs,
    },
    async run({ args }) {
      const loaded = configFromArgs(args);
      const { signal, dispose } = interruptSignal();
      try {
        const driver = createDriver(loaded);
        const cluster = loaded.config.cluster.name;
        const mode = progressMode(Boolean(args.json));
        const render = progressRenderer(mode, loaded.config.verbose);
        if (driver.location?.remote && !args.list) {
          makeLogger(render, () => name).warn(
            `the engine runs on another machine (${driver.location.endpoint}): the upstream tests run on this machine; those that reach node addresses from this machine need a route to ${loaded.config.dind.subnet} on it and fail without one`,
          );
        }
        const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
        const optional = {
          focus: str(args.focus),
          skip: str(args.skip),
          focusRegex: str(args['focus-regex']),
          skipRegex: str(args['skip-regex']),
          labelFilter: str(args['label-filter']),
          junitDir: str(args.junit),
          parallelism: loaded.config.e2e.parallelism,
        };
        const report = await runConformance({
          driver,
          cluster,
          serial,
          list: Boolean(args.list),
          ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
          logger: makeLogger(render, () => name),
          signal,
          onSpec: specPrinter(mode, loaded.config.verbose),
        });
        if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else printConformance(report);
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        dispose();
      }
    },
  });
}

export const e2eCmd = e2eCommand('e2e', false);
export const e2eSerialCmd = e2eCommand('e2e-serial', true);
