import { createRequire } from 'node:module';
import { defineCommand, renderUsage, runCommand, type ArgsDef, type CommandDef } from 'citty';
import { isLocalClusterError } from '@local-cluster/core';
import configCommand from './commands/config.js';
import listCommand from './commands/list.js';
import imagesCommand from './commands/images.js';
import kubeconfigCommand from './commands/kubeconfig.js';
import connectCommand from './commands/connect.js';
import dashboardCommand from './commands/dashboard.js';
import loadCommand from './commands/load.js';
import { cleanCommand, downCommand } from './commands/teardown.js';
import { reupCmd, upCmd } from './commands/up.js';
import { checkCmd } from './commands/check.js';
import { e2eCmd, e2eSerialCmd } from './commands/e2e.js';
import { e2eNodeCmd } from './commands/e2e-node.js';
import netcheckCommand from './commands/netcheck.js';
import statusCommand from './commands/status.js';
import exportCommand from './commands/export.js';
import registryCommand from './commands/registry.js';
import { rejectUnknownFlags } from './settings-args.js';
import { HELM_USAGE, helmPassthrough } from './commands/helm.js';
import { KUBECTL_USAGE, kubectlPassthrough } from './commands/kubectl.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export const rootCommand = defineCommand({
  meta: {
    name: 'local-cluster',
    version,
    description: 'Real multi-node Kubernetes clusters in Docker containers, built with kubeadm.',
  },
  subCommands: {
    up: upCmd,
    down: downCommand,
    clean: cleanCommand,
    reup: reupCmd,
    check: checkCmd,
    e2e: e2eCmd,
    'e2e-serial': e2eSerialCmd,
    'e2e-node': e2eNodeCmd,
    netcheck: netcheckCommand,
    list: listCommand,
    status: statusCommand,
    export: exportCommand,
    images: imagesCommand,
    load: loadCommand,
    kubeconfig: kubeconfigCommand,
    connect: connectCommand,
    dashboard: dashboardCommand,
    registry: registryCommand,
    config: configCommand,
    // listed for --help; main() hands `helm ...` to Helm before citty parses anything
    kubectl: defineCommand({ meta: { name: 'kubectl', description: `Run the cluster's own kubectl: ${KUBECTL_USAGE.split('\n')[0]}` } }),
    helm: defineCommand({ meta: { name: 'helm', description: `Run Helm 3 against the cluster: ${HELM_USAGE.split('\n')[0]}` } }),
  },
});

/** Walks argv to the innermost subcommand; returns it, its parent and the args left for it. */
async function resolveCommand(argv: string[]): Promise<{ cmd: CommandDef<ArgsDef>; parent?: CommandDef<ArgsDef>; rest: string[] }> {
  let cmd = rootCommand as CommandDef<ArgsDef>;
  let parent: CommandDef<ArgsDef> | undefined;
  let rest = argv;
  for (;;) {
    const subs = cmd.subCommands as Record<string, CommandDef<ArgsDef>> | undefined;
    const index = rest.findIndex((a) => !a.startsWith('-'));
    const next = index >= 0 && subs ? subs[rest[index]!] : undefined;
    if (!next) return { cmd, ...(parent ? { parent } : {}), rest };
    parent = cmd;
    cmd = next;
    rest = rest.slice(index + 1);
  }
}

function verbosity(argv: string[], env: NodeJS.ProcessEnv): number {
  const flag = argv.findIndex((a) => a === '--verbose' || a.startsWith('--verbose='));
  if (flag >= 0) {
    const arg = argv[flag]!;
    const value = arg.includes('=') ? arg.split('=')[1] : /^\d+$/.test(argv[flag + 1] ?? '') ? argv[flag + 1] : '2';
    return Number(value);
  }
  return Number(env.LOCAL_CLUSTER_VERBOSE ?? 1);
}

/** Runs the CLI; returns the exit code. The bin entry is the only place that exits. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    // Helm's flags are Helm's: everything after `helm` passes through
    const at = argv.findIndex((a) => !a.startsWith('-'));
    if (at >= 0 && argv.slice(0, at).every((a) => a.startsWith('--verbose'))) {
      if (argv[at] === 'helm') return await helmPassthrough(argv.slice(at + 1));
      if (argv[at] === 'kubectl') return await kubectlPassthrough(argv.slice(at + 1));
    }
    const { cmd, parent, rest } = await resolveCommand(argv);
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write((await renderUsage(cmd, parent)) + '\n');
      return 0;
    }
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
      process.stdout.write(`${version}\n`);
      return 0;
    }
    if (cmd.subCommands && !cmd.run) {
      const unknown = rest.find((a) => !a.startsWith('-'));
      process.stderr.write((await renderUsage(cmd, parent)) + '\n');
      if (unknown) process.stderr.write(`\nUnknown command "${unknown}".\n`);
      return unknown || rest.length ? 2 : 0;
    }
    const argsDef = (typeof cmd.args === 'function' ? await cmd.args() : await cmd.args) ?? {};
    rejectUnknownFlags(rest, argsDef as ArgsDef);
    await runCommand(cmd, { rawArgs: rest });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    const verbose = verbosity(argv, env);
    if (isLocalClusterError(error)) {
      process.stderr.write(`Error: ${error.describe()}\n`);
    } else {
      process.stderr.write(`Error: ${(error as Error)?.message ?? String(error)}\n`);
    }
    if (verbose >= 2 && error instanceof Error && error.stack) process.stderr.write(`\n${error.stack}\n`);
    else if (!isLocalClusterError(error)) process.stderr.write('(run with --verbose for the stack trace)\n');
    return 1;
  }
}
