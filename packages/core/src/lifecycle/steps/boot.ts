import type { NodeHandle } from '../../contracts/driver.js';
import { NODE_CONTRACT } from '../../contracts/node.js';
import type { Step, StepRuntime } from '../../engine/steps.js';
import { waitFor, writeNodeFile } from '../../nodeutil.js';
import { CLUSTER_RANGES_HOOK, clusterRangesHook } from '../cluster-ranges.js';
import { SERVICE_SUBNET } from '../kubeadm-config.js';
import type { UpContext } from '../context.js';

/** Waits until systemd runs on a node container and its baked-in images are in containerd. */
export async function booted(node: NodeHandle, rt: Pick<StepRuntime, 'signal'>): Promise<void> {
  await waitFor(
    `systemd on ${node.hostname}`,
    async () => {
      const r = await node.run(['systemctl', 'is-system-running'], rt);
      const state = r.stdout.trim();
      if (state === 'running' || state === 'degraded') return true;
      // a restored or restarted worker's kubelet waits for the API server before it starts
      // (kubeadm.ts, holdKubeletForApi): everything it comes after (containerd, the preload) is up
      if (state === 'starting') {
        const kubelet = (await node.run(['systemctl', 'show', '-p', 'SubState', '--value', 'kubelet'], rt)).stdout.trim();
        if (kubelet === 'start-pre') return true;
      }
      return undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, signal: rt.signal },
  );
  // the preload unit imports the kubeadm images into containerd before kubelet may start,
  // once per /var: a restored node has the stamp already and skips it
  await waitFor(
    `images preloaded on ${node.hostname}`,
    async () => {
      if ((await node.run(['test', '-s', NODE_CONTRACT.preloadStamp], rt)).exitCode === 0) return true;
      const state = (await node.run(['systemctl', 'is-failed', NODE_CONTRACT.preloadUnit], rt)).stdout.trim();
      if (state === 'failed') throw new Error(`image preload failed on ${node.hostname}: see journalctl -u ${NODE_CONTRACT.preloadUnit}`);
      return undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500, signal: rt.signal },
  );
}

/** Keeps the service and pod ranges on the node from now on and at every later start. */
async function keepClusterRanges(node: NodeHandle, hook: string, rt: StepRuntime): Promise<void> {
  await writeNodeFile(node, CLUSTER_RANGES_HOOK, hook, { ...rt, mode: '0755' });
  await node.exec(['sh', CLUSTER_RANGES_HOOK], rt);
}

/**
 * Waits until systemd runs on every node and the preloaded images are in
 * containerd; installs the hook that keeps cluster-range traffic on the nodes.
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
