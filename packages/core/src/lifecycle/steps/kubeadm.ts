import { NODE_CONTRACT } from '../../contracts/node.js';
import type { ExecResult, NodeHandle } from '../../contracts/driver.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { isExecError } from '../../errors.js';
import { readNodeFile, sleep, waitFor, writeNodeFile } from '../../nodeutil.js';
import { controlPlaneOf, kubectlOn, type UpContext } from '../context.js';
import { apiReader } from './wait-ready.js';
import { DISCOVERY_FILE, KUBEADM_PATCHES_DIR, discoveryKubeconfig, kubeadmPatchFiles, renderInitConfig, renderJoinConfig } from '../kubeadm-config.js';

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
      plan: ctx.plan,
      patches: { ...ctx.patches, podSubnet: ctx.podSubnet },
      controlPlaneIp: await controlPlane.ip(rt),
      bootstrapToken: ctx.bootstrapToken,
      certificateKey: ctx.certificateKey,
      apiServerAddress: ctx.apiServer.address,
    });
    await writeNodeFile(controlPlane, CONFIG_PATH, config, rt);
    await writeKubeadmPatches(ctx, controlPlane, rt);
    const argv = [
      NODE_CONTRACT.kubeadm,
      'init',
      `--config=${CONFIG_PATH}`,
      '--skip-token-print',
      // several control planes: the others fetch the shared CA and keys from the cluster
      ...(ctx.plan.loadBalancer ? ['--upload-certs'] : []),
      `--v=${Math.max(ctx.config.verbose - 1, 0)}`,
    ];
    const result = await execKept(ctx, 'kubeadm-init', controlPlane, argv, rt);
    rt.logger.debug(result.stdout);
  },
};

/**
 * Runs the joins while approving the joining kubelets' client certificate requests, those made
 * with this run's bootstrap token only. The controller manager approves them too, but it starts
 * its controllers one after another and reaches the approver some 4-5 s after init returns
 * (the signer, seconds earlier): the joins waited for it.
 */
async function approvingBootstrapCsrs<T>(ctx: UpContext, rt: StepRuntime, joins: () => Promise<T>): Promise<T> {
  const controlPlane = controlPlaneOf(ctx.nodes);
  const requester = `system:bootstrap:${ctx.bootstrapToken.split('.')[0]}`;
  const stop = new AbortController();
  const signal = AbortSignal.any([rt.signal, stop.signal]);
  // the list through the API server's published port (apiReader): a kubectl in the control plane
  // every 300 ms cost some 2-3 CPU-seconds of the joins on a 2-CPU machine
  const read = await apiReader(ctx, rt);
  const approver = (async () => {
    while (!signal.aborted) {
      try {
        const list = (await read('/apis/certificates.k8s.io/v1/certificatesigningrequests')) as {
          items: { metadata: { name: string }; spec: { username?: string; signerName?: string }; status?: { conditions?: unknown[] } }[];
        };
        const pending = list.items
          .filter((c) => c.spec.username === requester && c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && !c.status?.conditions?.length)
          .map((c) => c.metadata.name);
        if (pending.length > 0) {
          await kubectlOn(controlPlane, ['certificate', 'approve', ...pending], { signal });
          rt.logger.debug(`approved ${pending.join(', ')}`);
        }
      } catch (e) {
        // best effort: the controller manager approves them anyway
        if (!signal.aborted) rt.logger.debug(`approving bootstrap CSRs: ${(e as Error).message}`);
      }
      await sleep(300, signal).catch(() => undefined);
    }
  })();
  try {
    return await joins();
  } finally {
    stop.abort();
    await approver;
    await read.close();
  }
}

/** The patches kubeadm applies to the static pods and CoreDNS it generates (see kubeadmPatchFiles). */
async function writeKubeadmPatches(ctx: UpContext, node: NodeHandle, rt: StepRuntime): Promise<void> {
  for (const [name, content] of Object.entries(kubeadmPatchFiles(ctx.config, ctx.plan))) await writeNodeFile(node, `${KUBEADM_PATCHES_DIR}/${name}`, content, rt);
}

/** The discovery file every joining node gets: the endpoint and the first control plane's CA. */
async function discoveryFor(ctx: UpContext, rt: StepRuntime): Promise<string> {
  return discoveryKubeconfig(ctx.plan, await readNodeFile(controlPlaneOf(ctx.nodes), '/etc/kubernetes/pki/ca.crt', rt));
}

/** `kubeadm join` on one node (a control plane joins with the uploaded certificates). */
async function join(ctx: UpContext, node: NodeHandle, discovery: string, rt: StepRuntime): Promise<void> {
  const config = renderJoinConfig({ config: ctx.config, plan: ctx.plan, hostname: node.hostname, ip: await node.ip(rt), bootstrapToken: ctx.bootstrapToken, certificateKey: ctx.certificateKey });
  await writeNodeFile(node, CONFIG_PATH, config, rt);
  await writeNodeFile(node, DISCOVERY_FILE, discovery, rt);
  if (node.role === 'control-plane') await writeKubeadmPatches(ctx, node, rt);
  const argv = [NODE_CONTRACT.kubeadm, 'join', `--config=${CONFIG_PATH}`, `--v=${Math.max(ctx.config.verbose - 1, 0)}`];
  const started = Date.now();
  await execKept(ctx, `kubeadm-join-${node.hostname}`, node, argv, rt);
  rt.logger.debug(`kubeadm join on ${node.hostname} took ${Date.now() - started} ms`);
  if (node.role !== 'control-plane') await holdKubeletForApi(node, rt);
}

const WAIT_API_SCRIPT = '/etc/local-cluster/kubelet-wait-api';
const WAIT_API_DROPIN = '/etc/systemd/system/kubelet.service.d/20-local-cluster-wait-api.conf';
/** How long a worker's kubelet waits for the API server before it starts anyway. */
export const KUBELET_API_WAIT_S = 60;

/**
 * A worker's kubelet starts once the API server it talks to serves it (at most
 * KUBELET_API_WAIT_S). Started before, as after a restore from the snapshot or an engine restart
 * where workers boot faster than the control plane, its pod and service lists each back off on
 * their own; when pods come first it refuses their containers ("services have not yet been read
 * at least once, cannot construct envvars") and retries 10-20 s later: kube-proxy, then CoreDNS
 * behind it, were late by that much. So the hold waits until the kubelet's own credentials can
 * list Services and read its Node, its first two requests: 0.5-1 s before /readyz, which also
 * waits for start-up hooks the kubelet does not need (the priority classes, polled each second).
 * Until the API server's port accepts connections it only tries to connect (bash's /dev/tcp): a
 * kubectl every 0.3 s on every worker cost a CPU-second or two of a restore on a 2-CPU machine.
 * Written after the join, so it is in the snapshot; kubeadm's join itself starts the kubelet
 * with the API server up.
 */
async function holdKubeletForApi(node: NodeHandle, rt: StepRuntime): Promise<void> {
  const script = [
    '#!/bin/bash',
    "# Written by local-cluster: holds the kubelet (ExecStartPre) until its API server serves it.",
    'conf=/etc/kubernetes/kubelet.conf',
    '[ -s "$conf" ] || exit 0',
    `deadline=$(( $(date +%s) + ${KUBELET_API_WAIT_S} ))`,
    "server=$(sed -n 's#^ *server: *https://##p' \"$conf\" | head -n 1)",
    'host=${server%:*} port=${server##*:}',
    'host=${host#[} host=${host%]}',
    'k() { kubectl --kubeconfig "$conf" --request-timeout=2s get --raw "$1" >/dev/null 2>&1; }',
    'while [ "$(date +%s)" -lt "$deadline" ]; do',
    '  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then',
    '    k "/api/v1/services?limit=1" && k "/api/v1/nodes/$(hostname)" && exit 0',
    '    sleep 0.2',
    '  else',
    '    sleep 0.1',
    '  fi',
    'done',
    `echo "the API server did not serve this node in ${KUBELET_API_WAIT_S} s: starting the kubelet anyway" >&2`,
    '',
  ].join('\n');
  await writeNodeFile(node, WAIT_API_SCRIPT, script, { ...rt, mode: '0755' });
  await writeNodeFile(node, WAIT_API_DROPIN, `[Service]\nExecStartPre=${WAIT_API_SCRIPT}\nTimeoutStartSec=${KUBELET_API_WAIT_S + 30}\n`, rt);
  await node.exec(['systemctl', 'daemon-reload'], rt);
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
    const others = otherControlPlanes(ctx);
    const discovery = await discoveryFor(ctx, rt);
    await approvingBootstrapCsrs(ctx, rt, async () => {
      for (const node of others) await join(ctx, node, discovery, rt);
    });
    rt.logger.info(`${others.length} more control plane(s) joined; etcd has ${others.length + 1} members`);
  },
};

export const joinWorkers: Step<UpContext> = {
  name: 'join-workers',
  title: 'Join workers',
  skip: (ctx) => ctx.nodes.every((n) => n.role === 'control-plane'),
  async run(ctx, rt) {
    const workers = ctx.nodes.filter((n) => n.role !== 'control-plane');
    const discovery = await discoveryFor(ctx, rt);
    await approvingBootstrapCsrs(ctx, rt, () => Promise.all(workers.map((node) => join(ctx, node, discovery, rt))));
    rt.logger.info(`${workers.length} worker(s) joined`);
  },
};

/** Workers get the worker role label; every node gets the labels its settings give (cluster.controlPlane, cluster.workers). */
export const labelNodes: Step<UpContext> = {
  name: 'label-nodes',
  title: 'Label nodes',
  skip: (ctx) => ctx.plan.nodes.every((n) => n.role === 'control-plane' && Object.keys(n.settings.labels).length === 0),
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    // every node at once: each is a kubectl in the control plane, of some 0.15 s
    await Promise.all(ctx.plan.nodes.map(async (planned) => {
      const labels = [
        ...(planned.role === 'worker' ? ['node-role.kubernetes.io/worker='] : []),
        ...Object.entries(planned.settings.labels).map(([k, v]) => `${k}=${v}`),
      ];
      if (labels.length === 0) return;
      // `kubeadm join` returns after the TLS bootstrap; the Node object may follow a moment later
      await waitFor(
        `node ${planned.hostname} to register`,
        async () => {
          await kubectlOn(controlPlane, ['label', 'node', planned.hostname, ...labels, '--overwrite'], { signal: rt.signal });
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 500, signal: rt.signal },
      );
    }));
  },
};
