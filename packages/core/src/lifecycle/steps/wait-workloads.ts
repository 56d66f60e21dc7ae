import type { Step } from '../../engine/steps.js';
import { waitFor } from '../../nodeutil.js';
import type { UpContext } from '../context.js';
import { type KubeObjectList } from '../kube-objects.js';
import { apiReader, listOf } from './wait-ready.js';
import { BACKGROUND_LABEL } from '../../contracts/addon.js';

type Pod = KubeObjectList['items'][number];

/** Waiting reasons that no amount of waiting fixes: such a pod is named, not waited for. */
const STUCK_REASONS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName']);

/**
 * Pods wait-ready already judged, by rules of its own: the control-plane pods (the API server's
 * pod Ready condition trails its /readyz by 1-3 s) and CoreDNS (the first Ready replica serves).
 */
const WAITED_BY_WAIT_READY: readonly (readonly [string, string])[] = [
  ['tier', 'control-plane'],
  ['k8s-app', 'kube-dns'],
];

/** How long a restore waits for the workloads that ran before `down`, before it names the missing ones and returns. */
export const WORKLOADS_TIMEOUT_MS = 120_000;

export interface WorkloadsVerdict {
  /** Pods that ran before `down` and are not Ready again yet (namespace/name). */
  waiting: string[];
  /** Pods that cannot come back by waiting (namespace/name: reason). */
  stuck: string[];
}

/**
 * Which pods a restore still waits for. A restored etcd holds each pod's status from before
 * `down`; a status the kubelets of this run posted carries a transition time after `since`.
 * A pod counts when it is not finished (Succeeded, Failed, being deleted), runs on one of the
 * cluster's node containers (hollow and fake nodes' pods are not real), is not one wait-ready
 * already judged (the control plane, CoreDNS) nor labelled as background (BACKGROUND_LABEL), and either was Ready before `down` (its stored Ready
 * condition, not changed since) or was changed by this run's kubelet (so it was running). It is
 * back when its Ready condition turned True in this run. A pod that was not Ready before `down`
 * (a stored not-Ready condition) is not waited for.
 */
export function workloadsVerdict(pods: readonly Pod[], since: number, nodes: ReadonlySet<string>): WorkloadsVerdict {
  const waiting: string[] = [];
  const stuck: string[] = [];
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || !nodes.has(node) || pod.metadata.deletionTimestamp) continue;
    if (WAITED_BY_WAIT_READY.some(([key, value]) => pod.metadata.labels?.[key] === value)) continue;
    if (pod.metadata.labels?.[BACKGROUND_LABEL] === 'true') continue; // nothing at `up`'s return needs it
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
    const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
    const changedNow = ready?.lastTransitionTime !== undefined && Date.parse(ready.lastTransitionTime) >= since;
    if (ready?.status === 'True' && changedNow) continue; // back
    if (!ready || (ready.status !== 'True' && !changedNow)) continue; // not Ready before `down`
    const name = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    const reason = pod.status.containerStatuses?.map((c) => c.state?.waiting?.reason).find((r) => r && STUCK_REASONS.has(r));
    if (reason) stuck.push(`${name}: ${reason}`);
    else waiting.push(name);
  }
  return { waiting: waiting.sort(), stuck: stuck.sort() };
}

/**
 * A restore returns once the pods that ran before `down` run again (addons and the user's own
 * workloads), so a harness that calls `exec` right after `up` finds them running. A fresh `up`
 * has none but the ones its own steps waited for; a resumed cluster (nodes that kept running)
 * has statuses that never change, so neither waits here. A pod that does not come back in
 * WORKLOADS_TIMEOUT_MS, or cannot (CrashLoopBackOff, an image it cannot get), is named in a
 * warning and `up` still succeeds: the cluster is up, the workload is the user's.
 */
export const waitWorkloads: Step<UpContext> = {
  name: 'wait-workloads',
  title: 'Wait for the workloads that ran before `down`',
  skip: (ctx) => !ctx.restore || Boolean(ctx.resumed),
  async run(ctx, rt) {
    const since = ctx.startedAt - 1000;
    const read = await apiReader(ctx, rt);
    const nodes = new Set(ctx.nodes.map((n) => n.hostname));
    let last: WorkloadsVerdict = { waiting: [], stuck: [] };
    try {
      await waitFor(
        'the pods that ran before `down` to be Ready again',
        async () => {
          last = workloadsVerdict(await listOf(read, '/api/v1/pods', 'Pod'), since, nodes);
          if (last.waiting.length) rt.logger.debug(`waiting for ${last.waiting.length} pod(s): ${last.waiting.slice(0, 5).join(', ')}`);
          return last.waiting.length === 0 ? true : undefined;
        },
        { timeoutMs: WORKLOADS_TIMEOUT_MS, intervalMs: 250, signal: rt.signal },
      ).catch((error: unknown) => {
        if (rt.signal.aborted) throw error;
        rt.logger.warn(`not Ready again after ${WORKLOADS_TIMEOUT_MS / 1000}s (they ran before \`down\`): ${last.waiting.join(', ')}; see \`kubectl describe pod\``);
      });
    } finally {
      await read.close();
    }
    if (last.stuck.length) rt.logger.warn(`pods that ran before \`down\` cannot start again: ${last.stuck.join(', ')}`);
  },
};
