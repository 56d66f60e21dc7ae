// Helpers shared by the bench scripts.

/** A node's working set (usage minus inactive page cache), as `docker stats` and `kubectl top` count it. */
export async function nodeMemory(node) {
  // the node's own cgroup (private cgroup namespace): v1 memory controller, or v2
  const v1 = await node.run(['cat', '/sys/fs/cgroup/memory/memory.usage_in_bytes', '/sys/fs/cgroup/memory/memory.stat']);
  if (v1.exitCode === 0) {
    const [usage, ...stat] = v1.stdout.trim().split('\n');
    const inactive = Number(stat.find((l) => l.startsWith('total_inactive_file '))?.split(' ')[1] ?? 0);
    return { workingSetBytes: Number(usage) - inactive, usageBytes: Number(usage) };
  }
  const v2 = await node.run(['cat', '/sys/fs/cgroup/memory.current', '/sys/fs/cgroup/memory.stat']);
  const [usage, ...stat] = v2.stdout.trim().split('\n');
  const inactive = Number(stat.find((l) => l.startsWith('inactive_file '))?.split(' ')[1] ?? 0);
  return { workingSetBytes: Number(usage) - inactive, usageBytes: Number(usage) };
}

/** Records each step's duration and prints it to stderr. */
export function recorder(phase) {
  const steps = [];
  return {
    steps,
    onEvent(e) {
      if (e.type === 'step-end') {
        steps.push({ step: e.step, ms: Math.round(e.durationMs) });
        process.stderr.write(`${phase}: ${e.title} ${(e.durationMs / 1000).toFixed(1)}s\n`);
      }
    },
  };
}

/** Runs fn; returns its result and how long it took in ms. */
export const timed = async (fn) => {
  const t = performance.now();
  const result = await fn();
  return [result, Math.round(performance.now() - t)];
};
