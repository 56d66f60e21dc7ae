import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Component, ResolvedConfig } from '../../config/schema.js';
import { LABELS } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { ConfigError } from '../../errors.js';
import type { UpContext } from '../context.js';
import { imageCacheDir } from '../images.js';
import { DISCOVERY_FILE, discoveryKubeconfig, featureGatesFlag, renderClusterKubeadm, runtimeConfigFlag } from '../kubeadm-config.js';

/** The binary each configurable component is, and the flags that make it stop right after parsing its own. */
const PROGRAMS: Record<Component | 'kubeProxy', { binary: string; stopFlags: string[] }> = {
  apiServer: { binary: 'kube-apiserver', stopFlags: [] },
  controllerManager: { binary: 'kube-controller-manager', stopFlags: [] },
  scheduler: { binary: 'kube-scheduler', stopFlags: [] },
  // without a config file it stops before touching the host (no CRI socket, no /var/lib/kubelet)
  kubelet: { binary: 'kubelet', stopFlags: ['--config=/nonexistent/local-cluster-flag-check.yaml'] },
  kubeProxy: { binary: 'kube-proxy', stopFlags: [] },
};

/** Whether the config sets anything only the component binaries can judge. */
export function hasComponentSettings(config: ResolvedConfig): boolean {
  const c = config.cluster;
  return (
    Object.keys(c.featureGates).length > 0 ||
    Object.keys(c.runtimeConfig).length > 0 ||
    Object.values(c.componentArgs).some((args) => args && Object.keys(args).length > 0) ||
    c.kubeadmPatches.length > 0 ||
    [c.controlPlane, ...(c.workers ?? [])].some((n) => n.kubeadmPatches.length > 0)
  );
}

/** What a component said when it stopped: klog's `"command failed" err="..."`, cobra's `Error: ...`, or the last line. */
export function stopReason(output: string): string {
  const klog = /"command failed" err="((?:[^"\\]|\\.)*)"/.exec(output);
  if (klog) return klog[1]!.replace(/\\(.)/g, '$1');
  const cobra = /^Error: (.*)$/m.exec(output);
  if (cobra) return cobra[1]!;
  return output.trim().split('\n').pop() ?? '';
}

/**
 * The problems a run with the user's flags reports that the run without them does not
 * (a component without its required flags always fails: that failure is the baseline).
 */
export function newProblems(baseline: string, withFlags: string): string[] {
  if (baseline === withFlags) return [];
  const items = (reason: string) =>
    reason
      .replace(/^\[(.*)\]$/s, '$1')
      .split(/, (?=[-a-zA-Z`[])/)
      .map((s) => s.trim())
      .filter(Boolean);
  const known = new Set(items(baseline));
  return items(withFlags).filter((item) => !known.has(item));
}

function runProgram(path: string, args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    // a bare environment: no KUBERNETES_SERVICE_HOST or KUBECONFIG lets a component get further
    execFile(path, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: tmpdir(), timeout: 15_000, signal, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      // still running after 15 s: the flags got it past parsing, which is all we ask
      if (error && (error as { killed?: boolean }).killed) resolve('');
      else resolve(stopReason(output));
    });
  });
}

interface Check {
  component: Component | 'kubeProxy';
  setting: string;
  flags: Record<string, string>;
}

function checks(config: ResolvedConfig): Check[] {
  const c = config.cluster;
  const out: Check[] = [];
  const gates = featureGatesFlag(config);
  if (Object.keys(gates).length) {
    for (const component of Object.keys(PROGRAMS) as (keyof typeof PROGRAMS)[]) out.push({ component, setting: 'cluster.featureGates', flags: gates });
  }
  const runtime = runtimeConfigFlag(config);
  if (Object.keys(runtime).length) out.push({ component: 'apiServer', setting: 'cluster.runtimeConfig', flags: runtime });
  for (const [component, args] of Object.entries(c.componentArgs) as [Component, Record<string, string> | undefined][]) {
    if (args && Object.keys(args).length) out.push({ component, setting: `cluster.componentArgs.${component}`, flags: args });
  }
  return out;
}

const argv = (flags: Record<string, string>) => Object.entries(flags).map(([k, v]) => `--${k}=${v}`);

async function checkFlags(config: ResolvedConfig, binaries: Record<string, string>, rt: StepRuntime): Promise<void> {
  const list = checks(config);
  const baselines = new Map<string, Promise<string>>();
  const baseline = (component: keyof typeof PROGRAMS) => {
    const program = PROGRAMS[component];
    if (!baselines.has(component)) baselines.set(component, runProgram(binaries[program.binary]!, program.stopFlags, rt.signal));
    return baselines.get(component)!;
  };
  const results = await Promise.all(
    list.map(async (check) => {
      const program = PROGRAMS[check.component];
      const [base, got] = await Promise.all([baseline(check.component), runProgram(binaries[program.binary]!, [...program.stopFlags, ...argv(check.flags)], rt.signal)]);
      return { check, problems: newProblems(base, got) };
    }),
  );
  const failed = results.find((r) => r.problems.length > 0);
  if (failed) {
    const { check, problems } = failed;
    const version = config.source.kubernetesVersion;
    throw new ConfigError(`${check.setting} is refused by ${PROGRAMS[check.component].binary} ${version}: ${problems.join('; ')}.`, {
      setting: check.setting,
      hint:
        check.setting === 'cluster.featureGates'
          ? `Use a gate ${version} knows: \`${PROGRAMS[check.component].binary} --help\` lists them under --feature-gates (or drop it).`
          : check.setting === 'cluster.runtimeConfig'
            ? `Name API groups/versions ${version} serves (\`kubectl api-versions\` on a cluster of that version), or api/all, api/alpha, api/beta.`
            : `Check the flag against \`${PROGRAMS[check.component].binary} --help\` of ${version}; write flags without leading dashes.`,
    });
  }
  rt.logger.info(`${list.length} flag check(s) passed (${[...new Set(list.map((c) => PROGRAMS[c.component].binary))].join(', ')})`);
}

/** `kubeadm config validate` on the documents init and join will get, patches applied. */
async function checkKubeadm(ctx: UpContext, kubeadm: string, rt: StepRuntime): Promise<void> {
  const { config } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'local-cluster-kubeadm-'));
  try {
    // one document set per node: kubeadm validates a file with one Init or Join configuration
    // joins discover the cluster by a file `up` writes on each node: kubeadm checks it exists,
    // so these documents point at a stand-in here (same shape, a placeholder CA)
    const discovery = join(dir, 'discovery.conf');
    await writeFile(discovery, discoveryKubeconfig(ctx.plan, 'placeholder CA'));
    const files = renderClusterKubeadm(config, ctx.plan, ctx.cni, ctx.apiServer.address).replaceAll(DISCOVERY_FILE, discovery).split(/^---\n(?=# )/m);
    for (const [i, text] of files.entries()) {
      const file = join(dir, `node-${i}.yaml`);
      await writeFile(file, text);
      const output = await new Promise<string | undefined>((resolve) =>
        execFile(kubeadm, ['config', 'validate', `--config=${file}`], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, signal: rt.signal }, (error, stdout, stderr) =>
          resolve(error ? `${stderr}${stdout}`.split('\n').find((l) => l.startsWith('error:'))?.replace(/^error:\s*/, '') ?? `${stderr}${stdout}`.trim() : undefined),
        ),
      );
      if (output !== undefined) {
        const node = /^# (\S+ \(kubeadm \w+\))/.exec(text)?.[1] ?? `document set ${i}`;
        const nodePatches = [config.cluster.controlPlane, ...(config.cluster.workers ?? [])].some((n) => n.kubeadmPatches.length > 0);
        const setting = config.cluster.kubeadmPatches.length ? 'cluster.kubeadmPatches' : nodePatches ? 'kubeadmPatches of cluster.controlPlane or cluster.workers' : 'cluster.componentArgs';
        throw new ConfigError(`kubeadm ${config.source.kubernetesVersion} refuses the configuration these settings make for ${node}: ${output}.`, {
          setting,
          hint: 'Fix the patch or flag it names; `local-cluster config kubeadm` prints the documents.',
        });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Feature gates, runtime-config, component flags and kubeadm patches, judged by the
 * binaries of the version the nodes will run, before any container is made.
 */
export const validateComponents: Step<UpContext> = {
  name: 'check-components',
  title: 'Check feature gates, flags and patches',
  skip: (ctx) => !hasComponentSettings(ctx.config),
  async run(ctx, rt) {
    if (!ctx.nodeImage.binaries) {
      rt.logger.warn(`the node image ${ctx.nodeImage.ref} names no binaries to check flags with; kubeadm will judge them`);
      return;
    }
    const binaries = await ctx.nodeImage.binaries({
      driver: ctx.driver,
      logger: rt.logger,
      signal: rt.signal,
      cacheDir: dirname(imageCacheDir(ctx.home)),
      labels: { [LABELS.managed]: 'true', [LABELS.role]: 'image' },
    });
    await checkFlags(ctx.config, binaries, rt);
    await checkKubeadm(ctx, binaries.kubeadm!, rt);
  },
};
