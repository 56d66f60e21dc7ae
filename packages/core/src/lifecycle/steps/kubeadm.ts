import { NODE_CONTRACT } from '../../contracts/node.js';
import type { ExecResult, NodeHandle } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { isExecError } from '../../errors.js';
import { waitFor, writeNodeFile } from '../../nodeutil.js';
import { controlPlaneOf, kubectlOn, type UpContext } from '../context.js';
import { KUBEADM_PATCHES_DIR, kubeadmPatchFiles, renderInitConfig, renderJoinConfig } from '../kubeadm-config.js';
import { controlPlanesSchedulable, hasLoadBalancer, planNodes } from '../node-plan.js';

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
    const config = renderInitConfig({
      config: ctx.config,
      patches: { ...ctx.patches, podSubnet: ctx.podSubnet },
      controlPlaneIp: await controlPlane.ip(rt),
      bootstrapToken: ctx.bootstrapToken,
      untaintControlPlane: controlPlanesSchedulable(ctx.config),
      certificateKey: ctx.certificateKey,
      apiServerAddress: ctx.apiServer.address,
    });
    await writeNodeFile(controlPlane, CONFIG_PATH, config, rt);
    await writeKubeadmPatches(controlPlane, rt);
    const argv = [
      NODE_CONTRACT.kubeadm,
      'init',
      `--config=${CONFIG_PATH}`,
      '--skip-token-print',
      // several control planes: the others fetch the shared CA and keys from the cluster
      ...(hasLoadBalancer(ctx.config) ? ['--upload-certs'] : []),
      `--v=${Math.max(ctx.config.verbose - 1, 0)}`,
    ];
    const result = await execKept(ctx, 'kubeadm-init', controlPlane, argv, rt);
    rt.logger.debug(result.stdout);
  },
};

/**
 * Token discovery polls every 5 s for the signature the controller manager adds to
 * cluster-info a few seconds after init; joining once it is there takes ~1 s.
 */
async function waitForTokenSignature(ctx: UpContext, rt: StepRuntime): Promise<void> {
  const controlPlane = controlPlaneOf(ctx.nodes);
  const tokenId = ctx.bootstrapToken.split('.')[0]!;
  await waitFor(
    'the bootstrap token signature in cluster-info',
    async () => {
      const data = await kubectlOn(controlPlane, ['-n', 'kube-public', 'get', 'configmap', 'cluster-info', '-o', 'jsonpath={.data}'], { signal: rt.signal });
      return data.includes(`jws-kubeconfig-${tokenId}`) ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, signal: rt.signal },
  );
}

/** The patches kubeadm applies to the static pods and CoreDNS it generates (see kubeadmPatchFiles). */
async function writeKubeadmPatches(node: NodeHandle, rt: StepRuntime): Promise<void> {
  for (const [name, content] of Object.entries(kubeadmPatchFiles())) await writeNodeFile(node, `${KUBEADM_PATCHES_DIR}/${name}`, content, rt);
}

/** `kubeadm join` on one node (a control plane joins with the uploaded certificates). */
async function join(ctx: UpContext, node: NodeHandle, rt: StepRuntime): Promise<void> {
  const config = renderJoinConfig({ config: ctx.config, hostname: node.hostname, ip: await node.ip(rt), bootstrapToken: ctx.bootstrapToken, certificateKey: ctx.certificateKey });
  await writeNodeFile(node, CONFIG_PATH, config, rt);
  if (node.role === 'control-plane') await writeKubeadmPatches(node, rt);
  const argv = [NODE_CONTRACT.kubeadm, 'join', `--config=${CONFIG_PATH}`, `--v=${Math.max(ctx.config.verbose - 1, 0)}`];
  await execKept(ctx, `kubeadm-join-${node.hostname}`, node, argv, rt);
}

const otherControlPlanes = (ctx: UpContext) => ctx.nodes.filter((n) => n.role === 'control-plane' && n.id !== controlPlaneOf(ctx.nodes).id);

/**
 * The second and further control planes, one at a time: each adds an etcd member, and
 * etcd takes members one by one (kubeadm's HA guide joins them in turn too).
 */
export const joinControlPlanes: Step<UpContext> = {
  name: 'join-control-planes',
  title: 'Join control planes',
  skip: (ctx) => otherControlPlanes(ctx).length === 0,
  async run(ctx, rt) {
    await waitForTokenSignature(ctx, rt);
    const others = otherControlPlanes(ctx);
    for (const node of others) await join(ctx, node, rt);
    rt.logger.info(`${others.length} more control plane(s) joined; etcd has ${others.length + 1} members`);
  },
};

export const joinWorkers: Step<UpContext> = {
  name: 'join-workers',
  title: 'Join workers',
  skip: (ctx) => ctx.nodes.every((n) => n.role === 'control-plane'),
  async run(ctx, rt) {
    await waitForTokenSignature(ctx, rt);
    const workers = ctx.nodes.filter((n) => n.role !== 'control-plane');
    await Promise.all(workers.map((node) => join(ctx, node, rt)));
    rt.logger.info(`${workers.length} worker(s) joined`);
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
