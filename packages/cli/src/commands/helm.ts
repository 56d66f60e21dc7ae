import { ensureHelm, loadConfig, localClusterHome, makeLogger, requireKubeconfig } from '@local-cluster/core';
import { progressMode, progressRenderer } from '../progress.js';
import { interruptSignal } from '../signals.js';
import { runTool, splitClusterFlag } from './kubectl.js';

export const HELM_USAGE = `local-cluster helm [--name NAME] HELM-ARGS...

Runs a Helm 3 client (built from its Go module on first use) against the cluster's
admin kubeconfig. Everything after "helm" goes to Helm unchanged, e.g.
  local-cluster helm install web ./charts/web --wait
  local-cluster helm --name dev list -A
The cluster is --name NAME (first; --cluster NAME too), else cluster.name from LOCAL_CLUSTER_NAME or the config file.`;

const OFFLINE = new Set(['version', 'template', 'create', 'package', 'lint', 'show', 'inspect', 'dependency', 'dep', 'repo', 'search', 'env', 'completion', 'plugin', 'pull', 'fetch', 'verify', 'help']);

/**
 * `local-cluster helm ...`: Helm's own flags pass through untouched, so this is not a
 * citty command; it returns Helm's exit code.
 */
export async function helmPassthrough(argv: string[]): Promise<number> {
  const { name, args } = splitClusterFlag(argv);
  if (args.length === 0) {
    process.stderr.write(`${HELM_USAGE}\n`);
    return 2;
  }
  const loaded = loadConfig(name ? { overrides: { cluster: { name } } } : {});
  const home = localClusterHome();
  // Helm commands that never reach a cluster run without one
  const offline = OFFLINE.has(args.find((a) => !a.startsWith('-')) ?? 'help');
  const kubeconfig = offline ? undefined : requireKubeconfig(home, loaded.config.cluster.name);
  const render = progressRenderer(progressMode(false), loaded.config.verbose);
  const { signal, dispose } = interruptSignal();
  try {
    return await runTool(await ensureHelm({ home, logger: makeLogger(render, () => 'helm'), signal }), args, kubeconfig);
  } finally {
    dispose();
  }
}
