import type { Step } from '../../engine/steps.js';
import { waitFor } from '../../nodeutil.js';
import { kubectlOn, pluginContext, controlPlaneOf, type UpContext } from '../context.js';
import { readyCondition, type KubeObjectList } from '../kube-objects.js';
import { pluginHook } from './network-plugin.js';
import { FAKE_NODE_LABEL } from '../fake-nodes.js';


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
    // nodes, the control plane and CoreDNS in one poll (one kubectl call a round, every 300 ms):
    // on a restore they come back together, and each second of polling granularity shows
    const pods = [
      // etcd, API server, controller manager, scheduler on each control plane
      { what: 'control-plane pods', label: 'tier', value: 'control-plane', count: 4 * ctx.config.cluster.controlPlanes },
      { what: 'CoreDNS pod', label: 'k8s-app', value: 'kube-dns', count: 1 },
    ];
    let missing = '';
    await waitFor(
      `${ctx.nodes.length} node(s) Ready, the control-plane pods and CoreDNS`,
      async () => {
        // fake nodes (cluster.fakeNodes) have their own wait, after kwok starts: leaving them
        // out keeps this poll small when a restored etcd holds thousands
        const all = JSON.parse(await kubectlOn(controlPlane, ['-n', 'kube-system', 'get', 'nodes,pods', '-l', `${FAKE_NODE_LABEL.key}!=${FAKE_NODE_LABEL.value}`, '-o', 'json'], opts)) as KubeObjectList;
        // a resumed node whose Ready status never changed gets no new status for up to 5
        // minutes (the kubelet reports an unchanged status that rarely): its lease says it is back
        const renewed = ctx.resumed ? await leaseRenewals(controlPlane, opts) : undefined;
        // Ready, and the node controller has lifted its not-ready taint (seconds later), so
        // pods schedule as soon as `up` returns
        const readyNodes = all.items.filter(
          (n) =>
            n.kind === 'Node' &&
            (renewed ? readyCondition(n) !== undefined && (renewed.get(n.metadata.name) ?? 0) >= since : readyNow(n, 'lastHeartbeatTime')) &&
            !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready'),
        ).length;
        // the control plane and CoreDNS Ready since this run started (a restored etcd still holds
        // their old Ready status; a fresh cluster has none before it); a resumed cluster's pods on
        // nodes that kept running stay Ready from before: any Ready counts
        const short = pods
          .map((p) => ({ ...p, ready: all.items.filter((i) => i.kind === 'Pod' && i.metadata.labels?.[p.label] === p.value && (ctx.resumed ? readyCondition(i) !== undefined : readyNow(i, 'lastTransitionTime'))).length }))
          .filter((p) => p.ready < p.count)
          .map((p) => `${p.ready} of ${p.count} ${p.what} Ready`);
        if (readyNodes < ctx.nodes.length) short.unshift(`${readyNodes} of ${ctx.nodes.length} nodes Ready`);
        missing = short.join(', ');
        return short.length === 0 ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 300, signal: rt.signal },
    ).catch((e: Error) => {
      throw new Error(`${e.message}${missing ? ` (${missing})` : ''}`);
    });
    // a new cluster waits for every CoreDNS replica; a restored or resumed one is served by the
    // first Ready replica (the Service sends queries only to Ready ones): the second comes a second
    // or two later and waiting for it was the largest part of a restore left after the probes
    if (!ctx.restore) await kubectlOn(controlPlane, ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=240s'], opts);
    // a fresh cluster checked the CNI in its own step; a restored one checks it here
    if (ctx.restore && ctx.cni.waitReady) {
      const owner = `CNI plugin "${ctx.cni.name}"`;
      await pluginHook(owner, 'waitReady', () => ctx.cni.waitReady!(pluginContext(ctx, rt.logger, rt.signal)));
    }
  },
};
