import type { NodeHandle } from '../../contracts/driver.js';
import { NODE_CONTRACT } from '../../contracts/node.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { waitFor, writeNodeFile } from '../../nodeutil.js';
import { CLUSTER_RANGES_HOOK, clusterRangesHook } from '../cluster-ranges.js';
import { SERVICE_SUBNET } from '../kubeadm-config.js';
import type { UpContext } from '../context.js';

/** Waits until systemd runs on a node container; checks that its images are in containerd. */
export async function booted(node: NodeHandle, rt: Pick<StepRuntime, 'signal'>): Promise<void> {
  await waitFor(
    `systemd on ${node.hostname}`,
    async () => {
      const r = await node.run(['systemctl', 'is-system-running'], rt);
      const state = r.stdout.trim();
      if (state === 'running' || state === 'degraded') return true;
      // a restored or restarted worker's kubelet waits for the API server before it starts
      // (kubeadm.ts, holdKubeletForApi): everything it comes after (containerd) is up
      if (state === 'starting') {
        const kubelet = (await node.run(['systemctl', 'show', '-p', 'SubState', '--value', 'kubelet'], rt)).stdout.trim();
        if (kubelet === 'start-pre') return true;
      }
      return undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, signal: rt.signal },
  );
  // the node image comes with its images in containerd (images/node/assemble.sh seeds the store
  // in the image's /var, which Docker copies into the node's new /var volume); the stamp lists them
  if ((await node.run(['test', '-s', NODE_CONTRACT.preloadStamp], rt)).exitCode !== 0) {
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
 * Waits until systemd runs on every node (their images are in containerd already); installs the hook that keeps cluster-range traffic on the nodes.
 */
export const boot: Step<UpContext> = {
  name: 'boot',
  title: 'Boot nodes',
  async run(ctx, rt) {
    const hook = clusterRangesHook(SERVICE_SUBNET, ctx.podSubnet);
    await Promise.all(ctx.nodes.map(async (n) => {
      await keepClusterRanges(n, hook, rt);
      await booted(n, rt);
    }));
  },
};
