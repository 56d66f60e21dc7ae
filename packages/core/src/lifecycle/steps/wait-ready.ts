import type { Step } from '../../engine/steps.js';
import { waitFor } from '../../nodeutil.js';
import { kubectlOn, pluginContext, controlPlaneOf, type UpContext } from '../context.js';

interface NodeList {
  items: {
    metadata: { name: string };
    spec: { taints?: { key: string }[] };
    status: { conditions?: { type: string; status: string }[] };
  }[];
}

/** Every node Ready through the API, CoreDNS available, and the CNI's own check. */
export const waitReady: Step<UpContext> = {
  name: 'wait-ready',
  title: 'Wait for nodes and CoreDNS',
  async run(ctx, rt) {
    const controlPlane = controlPlaneOf(ctx.nodes);
    const opts = { signal: rt.signal };
    await waitFor(
      `${ctx.nodes.length} node(s) Ready`,
      async () => {
        const list = JSON.parse(await kubectlOn(controlPlane, ['get', 'nodes', '-o', 'json'], opts)) as NodeList;
        // Ready, and the node controller has lifted its not-ready taint (seconds later), so
        // pods schedule as soon as `up` returns
        const ready = list.items.filter(
          (n) =>
            n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
            !n.spec.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready'),
        );
        return ready.length === ctx.nodes.length ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1000, signal: rt.signal },
    );
    await kubectlOn(controlPlane, ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=240s'], opts);
    await ctx.cni.waitReady?.(pluginContext(ctx, rt.logger, rt.signal));
  },
};
