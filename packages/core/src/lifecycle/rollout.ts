import { LocalClusterError } from '../errors.js';

type Kubectl = (args: readonly string[]) => Promise<string>;

interface PodSummary {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, { reason?: string; message?: string; exitCode?: number }> }[];
    initContainerStatuses?: { name: string; ready: boolean; state?: Record<string, { reason?: string; message?: string; exitCode?: number }> }[];
  };
}

/** One line per pod that is not Ready: node, phase, and each waiting or failed container's reason. */
export function describeUnreadyPods(pods: readonly PodSummary[]): string[] {
  const lines: string[] = [];
  for (const pod of pods) {
    const containers = [...(pod.status.initContainerStatuses ?? []).map((c) => ({ ...c, init: true })), ...(pod.status.containerStatuses ?? []).map((c) => ({ ...c, init: false }))];
    const problems = containers
      .filter((c) => !c.ready)
      .map((c) => {
        const [state, detail] = Object.entries(c.state ?? {})[0] ?? ['unknown', {}];
        const why = [detail?.reason, detail?.exitCode !== undefined ? `exit ${detail.exitCode}` : undefined, detail?.message].filter(Boolean).join(', ');
        return `${c.init ? 'init container' : 'container'} ${c.name} ${state}${why ? ` (${why})` : ''}`;
      });
    if (problems.length === 0 && pod.status.phase === 'Running') continue;
    lines.push(`pod ${pod.metadata.name} on ${pod.spec.nodeName ?? '(unscheduled)'}: ${pod.status.phase ?? 'Unknown'}${problems.length ? `; ${problems.join('; ')}` : ''}`);
  }
  return lines;
}

/** A container log as kubectl printed it, or '' when the log is gone (kubectl then says "unable to retrieve"). */
function usableLog(text: string): string {
  return /^unable to retrieve container logs/m.test(text) ? '' : text.trim();
}

/**
 * Waits for a DaemonSet or Deployment to be rolled out. On timeout, the error
 * names the workload, the pods that are not Ready and why, and the last log
 * lines of a failing container.
 */
export async function waitForRollout(
  kubectl: Kubectl,
  kind: 'daemonset' | 'deployment' | 'statefulset',
  namespace: string,
  name: string,
  options: { timeoutSeconds?: number; owner?: string; settleSeconds?: number } = {},
): Promise<void> {
  const timeout = options.timeoutSeconds ?? 180;
  const settleMs = options.settleSeconds === undefined ? 5000 : options.settleSeconds * 1000;
  const deadline = Date.now() + timeout * 1000;
  // the workload's pod selector, read once
  let labels: string | undefined;
  const podStates = async () => {
    if (labels === undefined) {
      const selector = (await kubectl(['-n', namespace, 'get', kind, name, '-o', 'jsonpath={.spec.selector.matchLabels}'])).trim();
      labels = Object.entries(JSON.parse(selector || '{}') as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
    }
    const pods = JSON.parse(await kubectl(['-n', namespace, 'get', 'pods', '-l', labels, '-o', 'json'])) as { items: PodSummary[] };
    return pods.items;
  };
  const fingerprint = (pods: PodSummary[]) =>
    pods.map((p) => `${p.metadata.name}:${(p.status.containerStatuses ?? []).map((c) => `${c.ready}/${c.restartCount}`).join(',')}`).sort().join(' ');
  try {
    // rolled out, and still so a few seconds later with no restarts: a daemon that starts,
    // counts as available, then crashes must not pass
    for (;;) {
      const left = Math.max(1, Math.round((deadline - Date.now()) / 1000));
      await kubectl(['-n', namespace, 'rollout', 'status', `${kind}/${name}`, `--timeout=${left}s`]);
      if (settleMs === 0) return;
      const before = fingerprint(await podStates());
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const pods = await podStates();
      const allReady = pods.every((p) => (p.status.containerStatuses ?? []).every((c) => c.ready));
      if (allReady && fingerprint(pods) === before) return;
      if (Date.now() > deadline) throw new Error(`${kind} ${namespace}/${name}: pods restarted or became unready after the rollout`);
    }
  } catch (error) {
    let details: string[] = [];
    let logTail = '';
    try {
      const pods = await podStates();
      details = describeUnreadyPods(pods);
      // the last words of a container that keeps restarting (its previous run), else of any unready one
      for (const pod of pods) {
        const restarting = (pod.status.containerStatuses ?? []).find((c) => !c.ready && c.restartCount > 0);
        const unready = restarting ?? [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])].find((c) => !c.ready);
        if (!unready) continue;
        const args = ['-n', namespace, 'logs', pod.metadata.name, '-c', unready.name, '--tail=12'];
        if (restarting) logTail = usableLog(await kubectl([...args, '--previous']).catch(() => ''));
        if (!logTail) logTail = usableLog(await kubectl(args).catch(() => ''));
        if (logTail) {
          logTail = `${pod.metadata.name} ${unready.name}:\n${logTail}`;
          break;
        }
      }
    } catch {
      // the message below still names the workload
    }
    throw new LocalClusterError(
      `${options.owner ? `${options.owner}: ` : ''}${kind} ${namespace}/${name} was not ready within ${timeout}s.` +
        (details.length ? `\n  ${details.join('\n  ')}` : '') +
        (logTail ? `\n  last log lines:\n    ${logTail.split('\n').join('\n    ')}` : ''),
      { cause: error, hint: `Inspect it with: kubectl -n ${namespace} describe ${kind} ${name}; kubectl -n ${namespace} logs -l <its labels> --all-containers` },
    );
  }
}

/** A manifest given as objects, as one JSON `List` kubectl applies (JSON is YAML). */
export function manifestOf(manifest: string | readonly object[]): string {
  return typeof manifest === 'string' ? manifest : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest });
}
