import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { controlPlaneOf, hostKubectl, LocalClusterError, kubectlOn, serverVersion, loadConfig, localClusterHome, requireKubeconfig, runningNodes, type NodeHandle } from '@local-cluster/core';
import { createDriver } from '../wiring.js';
import { interruptSignal } from '../signals.js';

export const KUBECTL_USAGE = `local-cluster kubectl [--name NAME] KUBECTL-ARGS...

Runs the cluster's own kubectl (its exact version) with the cluster's admin kubeconfig.
Everything after "kubectl" goes to kubectl unchanged, e.g.
  local-cluster kubectl get pods -A
  local-cluster kubectl --name dev apply -f app.yaml
The cluster is --name NAME (first; --cluster NAME too), else cluster.name from LOCAL_CLUSTER_NAME or the config file.
\`up\` also links ~/.local-cluster/kubectl to it: alias kubectl=~/.local-cluster/kubectl`;

/**
 * `--name NAME` (as every other command takes it) or `--cluster NAME`, also `--name=NAME`, in
 * front of a passed-through command line: kubectl and Helm 3 have no global flag of either name.
 */
export function splitClusterFlag(argv: readonly string[]): { name?: string; args: string[] } {
  const first = argv[0];
  const flag = ['--name', '--cluster'].find((f) => first === f || first?.startsWith(`${f}=`));
  if (!flag) return { args: [...argv] };
  if (first === flag) {
    if (argv[1] === undefined || argv[1].startsWith('-')) throw new LocalClusterError(`${flag} needs a cluster name.`, { hint: `Put it first: local-cluster kubectl ${flag} NAME get nodes` });
    return { name: argv[1], args: argv.slice(2) };
  }
  return { name: first!.slice(flag.length + 1), args: argv.slice(1) };
}

/**
 * The kubectl of the cluster's Kubernetes version on this machine: the one the node image
 * was built with when it is in the cache, else copied out of the control plane once.
 */
export async function clusterKubectl(home: string, nodes: readonly NodeHandle[], signal?: AbortSignal): Promise<string> {
  const controlPlane = controlPlaneOf(nodes);
  const version = await serverVersion((args) => kubectlOn(controlPlane, args, signal ? { signal } : {}));
  const built = join(home, 'cache', 'node-image', 'binaries', version, 'bin', 'kubectl');
  if (existsSync(built)) return built;
  return hostKubectl(controlPlane, join(home, 'cache', 'e2e', version), signal ? { signal } : {});
}

/** Points `<home>/kubectl` at a cluster's kubectl (the proposal's `alias kubectl=$HOME/.../kubectl`). */
export async function linkKubectl(home: string, target: string): Promise<string> {
  const link = join(home, 'kubectl');
  const tmp = `${link}.${process.pid}`;
  await unlink(tmp).catch(() => undefined);
  await symlink(target, tmp);
  await rename(tmp, link);
  return link;
}

/** Runs a passed-through tool with the terminal; resolves with its exit code (130 after Ctrl-C). */
export function runTool(program: string, args: readonly string[], kubeconfig: string | undefined): Promise<number> {
  const child = spawn(program, args, { stdio: 'inherit', env: { ...process.env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) } });
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve(code ?? (sig === 'SIGINT' ? 130 : 1)));
  });
}

/** `local-cluster kubectl ...`: kubectl's flags pass through untouched; returns kubectl's exit code. */
export async function kubectlPassthrough(argv: string[]): Promise<number> {
  const { name, args } = splitClusterFlag(argv);
  if (args.length === 0) {
    process.stderr.write(`${KUBECTL_USAGE}\n`);
    return 2;
  }
  const loaded = loadConfig(name ? { overrides: { cluster: { name } } } : {});
  const home = localClusterHome();
  const cluster = loaded.config.cluster.name;
  const { signal, dispose } = interruptSignal();
  try {
    const nodes = await runningNodes(createDriver(loaded), cluster, signal);
    const kubeconfig = requireKubeconfig(home, cluster);
    return await runTool(await clusterKubectl(home, nodes, signal), args, kubeconfig);
  } finally {
    dispose();
  }
}
