import { describe, expect, it } from 'vitest';
import { describeUnreadyPods, iptablesWrapperFiles, IPTABLES_WRAPPER, manifestOf, waitForRollout } from '../../src/index.js';

describe('rollout diagnostics', () => {
  it('says which pods are not Ready, where, and why', () => {
    const lines = describeUnreadyPods([
      {
        metadata: { name: 'agent-a' },
        spec: { nodeName: 'kube-node-1' },
        status: {
          phase: 'Running',
          containerStatuses: [{ name: 'agent', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } } }],
        },
      },
      { metadata: { name: 'agent-b' }, spec: { nodeName: 'kube-master' }, status: { phase: 'Running', containerStatuses: [{ name: 'agent', ready: true, restartCount: 0 }] } },
      { metadata: { name: 'agent-c' }, spec: {}, status: { phase: 'Pending' } },
    ]);
    expect(lines).toEqual([
      'pod agent-a on kube-node-1: Running; container agent waiting (CrashLoopBackOff, back-off 40s)',
      'pod agent-c on (unscheduled): Pending',
    ]);
  });

  it('names the workload, the unready pods and their last log lines when the rollout times out', async () => {
    const kubectl = async (args: readonly string[]): Promise<string> => {
      if (args.includes('rollout')) throw new Error('timed out waiting for the condition');
      if (args.includes('jsonpath={.spec.selector.matchLabels}')) return '{"app":"agent"}';
      if (args[3] === 'pods') {
        expect(args).toContain('app=agent');
        return JSON.stringify({
          items: [{ metadata: { name: 'agent-x' }, spec: { nodeName: 'kube-node-2' }, status: { phase: 'Running', containerStatuses: [{ name: 'agent', ready: false, restartCount: 2, state: { terminated: { reason: 'Error', exitCode: 3 } } }] } }],
        });
      }
      if (args.includes('logs')) return 'cannot configure the pod network\n';
      throw new Error(`unexpected ${args.join(' ')}`);
    };
    const error = await waitForRollout(kubectl, 'daemonset', 'kube-system', 'agent', { timeoutSeconds: 5, owner: 'CNI plugin "x"', settleSeconds: 0 }).catch((e: Error) => e);
    expect(error?.message).toContain('CNI plugin "x": daemonset kube-system/agent was not ready within 5s.');
    expect(error?.message).toContain('pod agent-x on kube-node-2: Running; container agent terminated (Error, exit 3)');
    expect(error?.message).toContain('cannot configure the pod network');
  });

  it('applies objects as one JSON List and YAML as is', () => {
    expect(JSON.parse(manifestOf([{ kind: 'ConfigMap' }]))).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'ConfigMap' }] });
    expect(manifestOf('kind: ConfigMap\n')).toBe('kind: ConfigMap\n');
  });
});

describe('iptables wrapper', () => {
  it('stands in for every iptables command and needs nothing but sh and xtables', () => {
    const files = iptablesWrapperFiles();
    expect(files[0]).toMatchObject({ path: '/usr/sbin/iptables-wrapper', mode: 0o755 });
    expect(files.slice(1).map((f) => f.path)).toEqual(['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'].map((n) => `/usr/sbin/${n}`));
    expect(IPTABLES_WRAPPER.startsWith('#!/bin/sh\n')).toBe(true);
    // no external tools besides the xtables binaries
    expect(IPTABLES_WRAPPER).not.toMatch(/\b(grep|cat|tr|awk|sed)\b/);
  });
});

describe('rollout stability', () => {
  it('does not pass a workload whose pods restart right after the rollout reports success', async () => {
    let restarts = 0;
    let rollouts = 0;
    const kubectl = async (args: readonly string[]): Promise<string> => {
      if (args.includes('rollout')) {
        rollouts += 1;
        if (rollouts > 3) throw new Error('timed out waiting for the condition');
        return 'daemon set "agent" successfully rolled out';
      }
      if (args.includes('jsonpath={.spec.selector.matchLabels}')) return '{"app":"agent"}';
      if (args[3] === 'pods') {
        restarts += 1;
        return JSON.stringify({ items: [{ metadata: { name: 'agent-x' }, spec: { nodeName: 'n' }, status: { phase: 'Running', containerStatuses: [{ name: 'agent', ready: true, restartCount: restarts }] } }] });
      }
      return '';
    };
    const error = await waitForRollout(kubectl, 'daemonset', 'kube-system', 'agent', { timeoutSeconds: 30, settleSeconds: 0.01 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(rollouts).toBe(4);
  });

  it('passes a workload that stays Ready', async () => {
    const kubectl = async (args: readonly string[]): Promise<string> => {
      if (args.includes('jsonpath={.spec.selector.matchLabels}')) return '{"app":"agent"}';
      if (args[3] === 'pods') return JSON.stringify({ items: [{ metadata: { name: 'agent-x' }, spec: {}, status: { phase: 'Running', containerStatuses: [{ name: 'agent', ready: true, restartCount: 1 }] } }] });
      return 'ok';
    };
    await expect(waitForRollout(kubectl, 'daemonset', 'kube-system', 'agent', { settleSeconds: 0.01 })).resolves.toBeUndefined();
  });
});
