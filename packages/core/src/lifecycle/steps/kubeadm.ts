import { NODE_CONTRACT } from '../../contracts/node.js';
import type { ExecResult, NodeHandle } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { isExecError } from '../../errors.js';
import { waitFor, writeNodeFile } from '../../nodeutil.js';
import { controlPlaneOf, kubectlOn, type UpContext } from '../context.js';
import { renderInitConfig, renderJoinConfig } from '../kubeadm-config.js';
import { planNodes } from '../node-plan.js';

const CONFIG_PATH = '/etc/local-cluster/kubeadm.yaml';

/** Runs a kubeadm command and keeps its output (for the failure logs) whether it succeeds or not. */
async function execKept(ctx: UpContext, key: string, node: NodeHandle, argv: string[], rt: StepRuntime): Promise<ExecResult> {
  try {
    const result = await node.exec(argv, rt);
    ctx.transcripts.set(key, `${result.stdout}\n${result.stderr}`);
    return result;
  } catch (e) {
    if (isExecError(e)) ctx.transcripts.set(key, `${e.stdout}\n${e.stderr}`);
    throw e;
  }
}

export const kubeadmInit: Step<UpContext> = {
  name: 'kubeadm-init',
  title: 'kubeadm init',
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    const untaint = ctx.nodes.length === 1 || ctx.config.cluster.noDedicated;
    const config = renderInitConfig({
      config: ctx.config,
      patches: { ...ctx.patches, podSubnet: ctx.podSubnet },
      controlPlaneIp: await controlPlane.ip(rt),
      bootstrapToken: ctx.bootstrapToken,
      untaintControlPlane: untaint,
      apiServerAddress: ctx.apiServer.address,
    });
    await writeNodeFile(controlPlane, CONFIG_PATH, config, rt);
    const argv = [NODE_CONTRACT.kubeadm, 'init', `--config=${CONFIG_PATH}`, '--skip-token-print', `--v=${Math.max(ctx.config.verbose - 1, 0)}`];
    const result = await execKept(ctx, 'kubeadm-init', controlPlane, argv, rt);
    rt.logger.debug(result.stdout);
  },
};

export const joinWorkers: Step<UpContext> = {
  name: 'join-workers',
  title: 'Join workers',
  skip: (ctx) => ctx.nodes.length < 2,
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    // token discovery polls every 5 s for the signature the controller manager adds to
    // cluster-info a few seconds after init; joining once it is there takes ~1 s
    const tokenId = ctx.bootstrapToken.split('.')[0]!;
    await waitFor(
      'the bootstrap token signature in cluster-info',
      async () => {
        const data = await kubectlOn(controlPlane, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info', '-o', 'jsonpath={.data}'], { signal: rt.signal });
        return data.includes(`jws-kubeconfig-${tokenId}`) ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, signal: rt.signal },
    );
    await Promise.all(
      ctx.nodes
        .filter((n) => n.id !== controlPlane.id)
        .map(async (node) => {
          const config = renderJoinConfig({ config: ctx.config, hostname: node.hostname, ip: await node.ip(rt), bootstrapToken: ctx.bootstrapToken });
          await writeNodeFile(node, CONFIG_PATH, config, rt);
          const argv = [NODE_CONTRACT.kubeadm, 'join', `--config=${CONFIG_PATH}`, `--v=${Math.max(ctx.config.verbose - 1, 0)}`];
          await execKept(ctx, `kubeadm-join-${node.hostname}`, node, argv, rt);
        }),
    );
    rt.logger.info(`${ctx.nodes.length - 1} worker(s) joined`);
  },
};

/** Workers get the worker role label; every node gets the labels its settings give (cluster.controlPlane, cluster.workers). */
export const labelNodes: Step<UpContext> = {
  name: 'label-nodes',
  title: 'Label nodes',
  skip: (ctx) => planNodes(ctx.config).every((n) => n.role === 'control-plane' && Object.keys(n.settings.labels).length === 0),
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    for (const planned of planNodes(ctx.config)) {
      const labels = [
        ...(planned.role === 'worker' ? ['node-role.kubernetes.io/worker='] : []),
        ...Object.entries(planned.settings.labels).map(([k, v]) => `${k}=${v}`),
      ];
      if (labels.length === 0) continue;
      // `kubeadm join` returns after the TLS bootstrap; the Node object may follow a moment later
      await waitFor(
        `node ${planned.hostname} to register`,
        async () => {
          await kubectlOn(controlPlane, ['label', 'node', planned.hostname, ...labels, '--overwrite'], { signal: rt.signal });
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 500, signal: rt.signal },
      );
    }
  },
};
