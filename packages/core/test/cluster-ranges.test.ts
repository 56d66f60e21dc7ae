import { describe, expect, it } from 'vitest';
import { CLUSTER_RANGES_HOOK, CLUSTER_RANGES_TABLE, clusterRangesHook } from '../src/lifecycle/cluster-ranges.js';
import { NODE_CONTRACT } from '../src/contracts/node.js';

describe('the hook keeping cluster ranges on the nodes', () => {
  const hook = clusterRangesHook('10.96.0.0/12', '10.244.0.0/16');

  it('runs at every node start from the entrypoint hook directory', () => {
    expect(CLUSTER_RANGES_HOOK.startsWith(`${NODE_CONTRACT.entrypointHookDir}/`)).toBe(true);
    expect(CLUSTER_RANGES_HOOK).toMatch(/\.sh$/);
  });

  it('rejects service-range packets left after DNAT on the output and forward hooks, in a table of its own, replaced idempotently', () => {
    expect(hook).toContain(`table inet ${CLUSTER_RANGES_TABLE}\ndelete table inet ${CLUSTER_RANGES_TABLE}\n`);
    for (const chain of ['output', 'forward']) {
      expect(hook).toContain(`chain ${chain} {\n    type filter hook ${chain} priority filter + 10; policy accept;\n    ip daddr 10.96.0.0/12 meta l4proto tcp reject with tcp reset\n    ip daddr 10.96.0.0/12 reject\n  }`);
    }
  });

  it('makes pod addresses no CNI route covers unreachable, below any route a CNI adds for the same range', () => {
    expect(hook).toContain('ip route replace unreachable 10.244.0.0/16 metric 4242');
  });
});

describe('a pod subnet that is not a CIDR', () => {
  it('gets no route (kubeadm refuses it later with its own message); the service rules stay', () => {
    const hook = clusterRangesHook('10.96.0.0/12', '10.244.0.0/33');
    expect(hook).not.toContain('ip route');
    expect(hook).toContain('ip daddr 10.96.0.0/12 reject');
  });
});
