import { defineCommand } from 'citty';
import { ConfigError, makeLogger } from '@local-cluster/core';
import { NODE_E2E_LABEL_FILTER, runNodeE2e, type NodeE2eReport } from '@local-cluster/verify';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';
import { progressMode, progressRenderer, specPrinter } from '../progress.js';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `--timeout`: whole minutes, 1 to 1440. */
export function parseTimeoutMinutes(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value).trim();
  const minutes = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    throw new ConfigError(`--timeout ${text} is not a number of minutes from 1 to 1440.`, {
      source: { kind: 'flag', name: 'timeout' },
      hint: 'Give whole minutes, e.g. --timeout 90.',
    });
  }
  return minutes;
}

/** The summary line: counts of the tests the run selected, the filters that selected them. */
export function nodeE2eSummary(report: NodeE2eReport): string {
  return (
    `Kubernetes ${report.kubernetesVersion} node e2e (labels "${report.labelFilter}"${report.focus ? `, focus "${report.focus}"` : ''}${report.skip ? `, skip "${report.skip}"` : ''}): ` +
    `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped of ${report.selected} in ${duration(report.durationMs)} (${report.parallelism} in parallel)`
  );
}

export function printNodeE2e(report: NodeE2eReport, out: NodeJS.WritableStream = process.stdout): void {
  if (report.tests) {
    for (const name of report.tests) out.write(`${name}\n`);
    out.write(`${report.selected} test(s) of Kubernetes ${report.kubernetesVersion}'s node e2e suite selected (labels "${report.labelFilter}"${report.focus ? `, focus "${report.focus}"` : ''})\n`);
  } else {
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
  }
  if (report.leftOut.length) {
    out.write(`\nLeft out (this machine cannot give them what they need; --no-default-skips runs them):\n`);
    for (const l of report.leftOut) out.write(`  - ${l.name}: ${l.why}\n`);
  }
  if (report.tests) return;
  out.write(`\n${nodeE2eSummary(report)}\nNode image ${report.nodeImage}${report.container ? `; container ${report.container} kept (\`local-cluster clean\` removes it)` : ''}\nReports: ${report.junit ?? report.reportDir} · log ${report.log}\n`);
}

export const e2eNodeCmd = defineCommand({
  meta: {
    name: 'e2e-node',
    description:
      "Run Kubernetes' node e2e suite (e2e_node.test, [NodeConformance] by default) against a kubelet of the cluster's node image, in a container of its own (focus: a substring of test names).",
  },
  args: {
    focus: { type: 'positional', required: false, description: 'Only tests whose full name contains this text, e.g. "Probing container" or "[sig-node] Pods".' },
    skip: { type: 'string', valueHint: 'TEXT', description: 'Leave out tests whose name contains this text.' },
    'focus-regex': { type: 'string', valueHint: 'RE', description: 'Only tests whose name matches this regular expression (ginkgo --focus).' },
    'skip-regex': { type: 'string', valueHint: 'RE', description: 'Leave out tests whose name matches this regular expression.' },
    'label-filter': { type: 'string', valueHint: 'EXPR', description: `Ginkgo label filter (default "${NODE_E2E_LABEL_FILTER}").` },
    'default-skips': { type: 'boolean', default: true, description: 'Leave out the tests that need what this machine cannot give (a registry); --no-default-skips runs them too.' },
    timeout: { type: 'string', valueHint: 'MINUTES', description: 'Whole-run timeout in minutes (default 120).' },
    junit: { type: 'string', valueHint: 'DIR', description: 'Also write the JUnit XML report into DIR.' },
    list: { type: 'boolean', description: 'List the tests the filters select, run nothing.' },
    keep: { type: 'boolean', description: 'Keep the container the suite ran in (for a look inside); `clean` removes it.' },
    ...settingArgs(),
    ...outputArgs,
  },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const timeoutMinutes = parseTimeoutMinutes(args.timeout);
    const { signal, dispose } = interruptSignal();
    try {
      const driver = createDriver(loaded);
      const mode = progressMode(Boolean(args.json));
      const render = progressRenderer(mode, loaded.config.verbose);
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
      const optional = {
        focus: str(args.focus),
        skip: str(args.skip),
        focusRegex: str(args['focus-regex']),
        skipRegex: str(args['skip-regex']),
        labelFilter: str(args['label-filter']),
        junitDir: str(args.junit),
        parallelism: loaded.config.e2e.parallelism,
        timeoutMinutes,
      };
      const report = await runNodeE2e({
        driver,
        cluster: loaded.config.cluster.name,
        list: Boolean(args.list),
        keep: Boolean(args.keep),
        noDefaultSkips: args['default-skips'] === false,
        ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
        logger: makeLogger(render, () => 'e2e-node'),
        signal,
        onSpec: specPrinter(mode, loaded.config.verbose),
      });
      if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printNodeE2e(report);
      if (report.failed > 0) process.exitCode = 1;
    } finally {
      dispose();
    }
  },
});
