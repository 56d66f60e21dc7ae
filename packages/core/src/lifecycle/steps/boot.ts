import type { NodeHandle } from '../../contracts/driver.js';
import { NODE_CONTRACT } from '../../contracts/node.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { waitFor, writeNodeFile } from '../../nodeutil.js';
import { CLUSTER_RANGES_HOOK, clusterRangesHook } from '../cluster-ranges.js';
import { hasIpv6, ipv6Ranges } from '../../config/ip-family.js';
import type { UpContext } from '../context.js';

/**
 * Waits until systemd runs on a node container and checks that its images are in containerd:
 * one exec a poll, since each costs the engine some 50-100 ms of CPU while a restore's control
 * plane is starting on the same cores.
 */
export async function booted(node: NodeHandle, rt: Pick<StepRuntime, 'signal'>): Promise<void> {
  const probe = `echo "$(systemctl is-system-running) $(systemctl show -p SubState --value kubelet) $(test -s ${NODE_CONTRACT.preloadStamp} && echo images || echo no-images)"`;
  const images = await waitFor(
    `systemd on ${node.hostname}`,
    async () => {
      const [state, kubelet, images] = (await node.run(['sh', '-c', probe], rt)).stdout.trim().split(/\s+/);
      // a restored or restarted worker's kubelet waits for the API server before it starts
      // (kubeadm.ts, holdKubeletForApi): everything it comes after (containerd) is up
      const up = state === 'running' || state === 'degraded' || (state === 'starting' && kubelet === 'start-pre');
      return up ? images === 'images' : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, signal: rt.signal },
  );
  // the node image comes with its images in containerd (images/node/assemble.sh seeds the store
  // in the image's /var, which Docker copies into the node's new /var volume); the stamp lists them
  if (!images) {
    throw new Error(
      `${node.hostname} has no images in containerd (${NODE_CONTRACT.preloadStamp} is missing): its node image was not built by images/node/assemble.sh, or its /var volume was not filled from the image. Remove the node image (docker rmi) so \`up\` builds it again.`,
    );
  }
}

/** Keeps the service and pod ranges on the node from now on and at every later start. */
async function keepClusterRanges(node: NodeHandle, hook: string, rt: StepRuntime): Promise<void> {
  await writeNodeFile(node, CLUSTER_RANGES_HOOK, hook, { ...rt, mode: '0755' });
  await node.exec(['sh', CLUSTER_RANGES_HOOK], rt);
}

/**
 * Waits until systemd runs on every node (their images are in containerd already); installs the hook that keeps cluster-range traffic on the nodes (a restore's nodes have it).
 */
export const boot: Step<UpContext> = {
  name: 'boot',
  title: 'Boot nodes',
  async run(ctx, rt) {
    const v6 = hasIpv6(ctx.config) ? ipv6Ranges(ctx.config) : undefined;
    const hook = clusterRangesHook(ctx.config.cluster.serviceSubnet, ctx.podSubnet, v6 ? { serviceSubnet: v6.service, podSubnet: v6.pod } : undefined);
    await Promise.all(ctx.nodes.map(async (n) => {
      // a restored or resumed node has the hook from its snapshot (the same config made both),
      // and its entrypoint ran it at this start
      if (!ctx.restore) await keepClusterRanges(n, hook, rt);
      await booted(n, rt);
    }));
  },
};
