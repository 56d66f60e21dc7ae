import type { Step, StepRuntime } from '../../engine/steps.js';
import { readNodeFile, waitFor } from '../../nodeutil.js';
import { apiServerUrl } from '../api-address.js';
import { ADMIN_CONF, kubectlOn, pluginContext, controlPlaneOf, type UpContext } from '../context.js';
import { apiAccessFromKubeconfig, KubeApi } from '../kube-api.js';
import { readyCondition, type KubeObjectList } from '../kube-objects.js';
import { pluginHook } from './network-plugin.js';
import { FAKE_NODE_LABEL } from '../fake-nodes.js';
import { givesPodNetwork } from '../../plugins/no-cni.js';

/** GETs an API path and parses its JSON. */
export type ApiReader = ((path: string) => Promise<unknown>) & { close(): Promise<void> };

/**
 * How the wait reads the API. With the engine on this machine: straight to the API server's
 * published port with the admin credentials, a few milliseconds a poll. A kubectl in the control
 * plane each poll (an exec, a Go binary starting) cost 0.1-0.15 CPU-seconds, some 3-4 of a restore
 * on a 2-CPU machine, where the control plane starting is what `up` waits for. A remote engine's
 * port may be out of this machine's reach until the kubeconfig is exported: kubectl there.
 */
export async function apiReader(ctx: UpContext, rt: StepRuntime): Promise<ApiReader> {
  const controlPlane = controlPlaneOf(ctx.nodes);
  if (ctx.apiServer.remote || ctx.apiServerHostPort === undefined) {
    const parse = (text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        return text.trim(); // /readyz answers text
      }
    };
    return Object.assign(async (path: string) => parse(await kubectlOn(controlPlane, ['get', '--raw', path], { signal: rt.signal })), { close: async () => {} });
  }
  const access = apiAccessFromKubeconfig(await readNodeFile(controlPlane, ADMIN_CONF, rt));
  const api = new KubeApi({ ...access, server: apiServerUrl(ctx.apiServer.address, ctx.apiServerHostPort) }, 2);
  return Object.assign(async (path: string) => (await api.call('GET', path, { signal: rt.signal })).body, { close: () => api.close() });
}

/** The items of a list, each with its kind (a list from the API leaves it out). */
export async function listOf(read: ApiReader, path: string, kind: string): Promise<KubeObjectList['items']> {
  return ((await read(path)) as KubeObjectList).items.map((item) => ({ ...item, kind }));
}

/** When each node's kubelet last renewed its lease (kube-node-lease), in ms since the epoch. */
async function leaseRenewals(read: ApiReader): Promise<Map<string, number>> {
  const leases = (await read('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')) as { items: { metadata: { name: string }; spec?: { renewTime?: string } }[] };
  return new Map(leases.items.filter((l) => l.spec?.renewTime).map((l) => [l.metadata.name, Date.parse(l.spec!.renewTime!)]));
}

/**
 * The nodes whose kubelet shows one of the two waits a kubelet started before its API server can
 * fall into (see the wait below): a pod refused for want of the Service list, or, once the API
 * server has answered for over 2 s, the node NotReady because its CSINode check missed it.
 */
export function stuckKubelets(items: KubeObjectList['items'], answeringMs: number): Set<string> {
  const stuck = new Set<string>();
  for (const item of items) {
    if (item.kind === 'Pod' && item.spec?.nodeName && item.status.containerStatuses?.some((c) => c.state?.waiting?.message?.includes('services have not yet been read'))) stuck.add(item.spec.nodeName);
    // its first check comes within a second of the API server answering
    const notReady = item.status.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True');
    if (item.kind === 'Node' && answeringMs > 2000 && notReady?.message?.includes('CSINode is not yet initialized')) stuck.add(item.metadata.name);
  }
  return stuck;
}

/**
 * Every node Ready through the API, CoreDNS available, and the CNI's own check. Without a CNI
 * (cluster.cniPlugin "none") nodes cannot be Ready nor CoreDNS run: every node registered and
 * the control plane Ready is what `up` waits for, and it says so.
 */
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
    // nodes, the control plane and CoreDNS in one poll (two lists a round, every 300 ms): on a
    // restore they come back together, and each second of polling granularity shows
    const podNetwork = givesPodNetwork(ctx.cni);
    const pods = [
      // etcd, API server, controller manager, scheduler on each control plane
      { what: 'control-plane pods', label: 'tier', value: 'control-plane', count: 4 * ctx.plan.nodes.filter((n) => n.role === 'control-plane').length },
      ...(podNetwork ? [{ what: 'CoreDNS pod', label: 'k8s-app', value: 'kube-dns', count: 1 }] : []),
    ];
    let missing = '';
    // fake nodes (cluster.fakeNodes) have their own wait, after kwok starts: leaving them
    // out keeps this poll small when a restored etcd holds thousands
    const real = encodeURIComponent(`${FAKE_NODE_LABEL.key}!=${FAKE_NODE_LABEL.value}`);
    const read = await apiReader(ctx, rt);
    // several API servers sit behind the load balancer, whose /readyz speaks for one of them
    const oneApiServer = !ctx.plan.loadBalancer;
    // A restored node's kubelet that started before the API server (a control plane's always
    // does: it runs it) has had its lists fail, and each backs off on its own, up to seconds.
    // Two of them cost 7-15 s in about one restore in five: pods reaching it before its Services
    // are listed are refused ("services have not yet been read at least once") and retried
    // 10-15 s later; a CSINode check that missed the API server keeps the node NotReady ("CSINode
    // is not yet initialized") as long. Such a kubelet is restarted, once: with the API server
    // up it lists everything at once (1-2 s), and its running containers are left alone.
    const restarted = new Set<string>();
    let answeringSince: number | undefined;
    const restartStuckKubelets = async (items: KubeObjectList['items'], answeringMs: number) => {
      if (!ctx.restore) return;
      const stuck = stuckKubelets(items, answeringMs);
      const nodes = ctx.nodes.filter((n) => stuck.has(n.hostname) && !restarted.has(n.hostname));
      for (const node of nodes) restarted.add(node.hostname);
      if (nodes.length) rt.logger.info(`restarting the kubelet on ${nodes.map((n) => n.hostname).join(', ')} (it started before the API server and its lists are still backing off)`);
      await Promise.all(nodes.map((n) => n.exec(['systemctl', 'restart', 'kubelet'], { signal: rt.signal })));
    };
    await waitFor(
      podNetwork ? `${ctx.nodes.length} node(s) Ready, the control-plane pods and CoreDNS` : `${ctx.nodes.length} node(s) registered and the control-plane pods Ready`,
      async () => {
        const [nodes, kubeSystem, readyz] = await Promise.all([
          listOf(read, `/api/v1/nodes?labelSelector=${real}`, 'Node'),
          listOf(read, '/api/v1/namespaces/kube-system/pods', 'Pod'),
          oneApiServer ? read('/readyz').catch(() => '') : '',
        ]);
        // the API server's pod turns Ready when the kubelet's probe (every second, after its
        // startup probe) has seen /readyz ok and the kubelet has posted it: 1-3 s after the
        // API server itself said so. With one, its own answer is the better evidence.
        const apiServerReady = readyz === 'ok';
        const all = { items: [...nodes, ...kubeSystem] };
        answeringSince ??= Date.now();
        await restartStuckKubelets(all.items, Date.now() - answeringSince);
        // a resumed node whose Ready status never changed gets no new status for up to 5
        // minutes (the kubelet reports an unchanged status that rarely): its lease says it is back
        const renewed = ctx.resumed ? await leaseRenewals(read) : undefined;
        // Ready, and the node controller has lifted its not-ready taint (seconds later), so
        // pods schedule as soon as `up` returns
        const readyNodes = all.items.filter(
          (n) =>
            n.kind === 'Node' &&
            // without a CNI a node registers and stays NotReady
            (!podNetwork ||
            (renewed ? readyCondition(n) !== undefined && (renewed.get(n.metadata.name) ?? 0) >= since : readyNow(n, 'lastHeartbeatTime')) &&
            !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready')),
        ).length;
        // the control plane and CoreDNS Ready since this run started (a restored etcd still holds
        // their old Ready status; a fresh cluster has none before it); a resumed cluster's pods on
        // nodes that kept running stay Ready from before: any Ready counts
        const short = pods
          .map((p) => ({
            ...p,
            ready: all.items.filter(
              (i) =>
                i.kind === 'Pod' &&
                i.metadata.labels?.[p.label] === p.value &&
                ((ctx.resumed ? readyCondition(i) !== undefined : readyNow(i, 'lastTransitionTime')) || (apiServerReady && i.metadata.labels?.component === 'kube-apiserver')),
            ).length,
          }))
          .filter((p) => p.ready < p.count)
          .map((p) => `${p.ready} of ${p.count} ${p.what} Ready`);
        if (readyNodes < ctx.nodes.length) short.unshift(`${readyNodes} of ${ctx.nodes.length} nodes ${podNetwork ? 'Ready' : 'registered'}`);
        const now = short.join(', ');
        if (now !== missing && now) rt.logger.debug(`waiting for ${now}`);
        missing = now;
        return short.length === 0 ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 300, signal: rt.signal },
    )
      .catch((e: Error) => {
        throw new Error(`${e.message}${missing ? ` (${missing})` : ''}`);
      })
      .finally(() => read.close());
    // a new cluster waits for every CoreDNS replica; a restored or resumed one is served by the
    // first Ready replica (the Service sends queries only to Ready ones): the second comes a second
    // or two later and waiting for it was the largest part of a restore left after the probes
    if (!podNetwork) {
      rt.logger.warn(`the ${ctx.nodes.length} node(s) are NotReady: there is no CNI (cluster.cniPlugin "${ctx.cni.name}"); they turn Ready once you install one, and CoreDNS starts then`);
      return;
    }
    if (!ctx.restore) await kubectlOn(controlPlane, ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=240s'], opts);
    // a fresh cluster checked the CNI in its own step; a restored one checks it here
    if (ctx.restore && ctx.cni.waitReady) {
      const owner = `CNI plugin "${ctx.cni.name}"`;
      await pluginHook(owner, 'waitReady', () => ctx.cni.waitReady!(pluginContext(ctx, rt.logger, rt.signal)));
    }
  },
};
