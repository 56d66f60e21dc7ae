import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { NodeHandle } from '../../src/index.js';
import { booted } from '../../src/lifecycle/steps/boot.js';

/** A node whose probe runs in a real shell, with `systemctl` and `test` answering from the script given. */
function nodeAnswering(states: { system: string; kubelet: string; stamp: boolean }[]): NodeHandle & { calls: number } {
  const node = {
    hostname: 'kube-node-1',
    calls: 0,
    async run(argv: string[]) {
      const now = states[Math.min(node.calls++, states.length - 1)]!;
      const stubs = `systemctl() { if [ "$1" = is-system-running ]; then echo ${now.system}; return 1; fi; echo ${now.kubelet}; }; test() { ${now.stamp ? 'return 0' : 'return 1'}; };`;
      expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
      return { exitCode: 0, stdout: execFileSync('bash', ['-c', `${stubs} ${argv[2]}`], { encoding: 'utf8' }), stderr: '' };
    },
  };
  return node as unknown as NodeHandle & { calls: number };
}

const signal = new AbortController().signal;

describe('booted', () => {
  it('waits for systemd with one exec a poll, and takes a worker whose kubelet waits for the API server', async () => {
    const node = nodeAnswering([
      { system: 'initializing', kubelet: 'dead', stamp: true },
      { system: 'starting', kubelet: 'start-pre', stamp: true },
    ]);
    await booted(node, { signal });
    expect(node.calls).toBe(2);
  });

  it('refuses a node without its images in containerd, naming the stamp and the fix', async () => {
    const node = nodeAnswering([{ system: 'degraded', kubelet: 'running', stamp: false }]);
    await expect(booted(node, { signal })).rejects.toThrow(/kube-node-1 has no images in containerd \(\/var\/lib\/local-cluster\/images-preloaded is missing\).*docker rmi/);
    expect(node.calls).toBe(1);
  });
});
