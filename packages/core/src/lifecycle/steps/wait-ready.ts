import type { Step } from '../../engine/steps.js';
import { waitFor } from '../../nodeutil.js';
import { kubectlOn, pluginContext, controlPlaneOf, type UpContext } from '../context.js';
import { readyCondition, type KubeObjectList } from '../kube-objects.js';
import { pluginHook } from './network-plugin.js';


/** When each node's kubelet last renewed its lease (kube-node-lease), in ms since the epoch. */
async function leaseRenewals(controlPlane: Parameters<typeof kubectlOn>[0], opts: { signal: AbortSignal }): Promise<Map<string, number>> {
  const out = await kubectlOn(controlPlane, ['-n', 'kube-node-lease', 'get', 'leases', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.renewTime}{"\\n"}{end}'], opts);
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter(([name, time]) => name && time)
      .map(([name, time]) => [name!, Date.parse(time!)]),
  );
}

/** Every node Ready through the API, CoreDNS available, and the CNI's own check. */
export const waitReady: Step<UpContext> = {
  name: 'wait-ready',
  title: 'Wait for nodes and CoreDNS',
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    const opts = { signal: rt.signal };
    // a restored etcd still holds the Ready status of before `down`: only a heartbeat
    // from this run counts (nodes share the host's clock)
    const since = ctx.startedAt - 1000;
    const fresh = (t?: string) => !ctx.restore || (t !== undefined && Date.parse(t) >= since);
    const readyNow = (item: KubeObjectList['items'][number], stamp: 'lastHeartbeatTime' | 'lastTransitionTime') => {
      const ready = readyCondition(item);
      return ready !== undefined && fresh(ready[stamp]);
    };
    await waitFor(
      `${ctx.nodes.length} node(s) Ready`,
      async () => {
        const list = JSON.parse(await kubectlOn(controlPlane, ['get', 'nodes', '-o', 'json'], opts)) as KubeObjectList;
        // a resumed node whose Ready status never changed gets no new status for up to 5
        // minutes (the kubelet reports an unchanged status that rarely): its lease says it is back
        const renewed = ctx.resumed ? await leaseRenewals(controlPlane, opts) : undefined;
        // Ready, and the node controller has lifted its not-ready taint (seconds later), so
        // pods schedule as soon as `up` returns
        const ready = list.items.filter(
          (n) =>
            (renewed ? readyCondition(n) !== undefined && (renewed.get(n.metadata.name) ?? 0) >= since : readyNow(n, 'lastHeartbeatTime')) &&
            !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready'),
        );
        return ready.length === ctx.nodes.length ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1000, signal: rt.signal },
    );
    // the control plane and CoreDNS, Ready since this run started (a restored etcd still
    // holds their old Ready status; a fresh cluster has none before it)
    for (const [what, selector, count] of [
      // etcd, API server, controller manager, scheduler on each control plane
      ['the control-plane pods', 'tier=control-plane', 4 * ctx.config.cluster.controlPlanes],
      ['CoreDNS', 'k8s-app=kube-dns', 1],
    ] as const) {
      await waitFor(
        what,
        async () => {
          const pods = JSON.parse(await kubectlOn(controlPlane, ['-n', 'kube-system', 'get', 'pods', '-l', selector, '-o', 'json'], opts)) as KubeObjectList;
          // a resumed cluster's pods on nodes that kept running stay Ready from before: any Ready counts
          const ready = pods.items.filter((p) => (ctx.resumed ? readyCondition(p) !== undefined : readyNow(p, 'lastTransitionTime')));
          return ready.length >= count ? true : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 1000, signal: rt.signal },
      );
    }
    await kubectlOn(controlPlane, ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=240s'], opts);
    // a fresh cluster checked the CNI in its own step; a restored one checks it here
    if (ctx.restore && ctx.cni.waitReady) {
      const owner = `CNI plugin "${ctx.cni.name}"`;
      await pluginHook(owner, 'waitReady', () => ctx.cni.waitReady!(pluginContext(ctx, rt.logger, rt.signal)));
    }
  },
};
