import { describe, expect, it } from 'vitest';
import type { KubeObjectList } from '../../src/lifecycle/kube-objects.js';
import { workloadsVerdict } from '../../src/lifecycle/steps/wait-workloads.js';

type Pod = KubeObjectList['items'][number];
const since = Date.parse('2026-12-07T12:00:00Z');
const before = '2026-12-07T11:00:00Z';
const after = '2026-12-07T12:00:05Z';
const nodes = new Set(['kube-master', 'kube-node-1']);
const pod = (name: string, ready: { status: string; at: string } | undefined, extra: { node?: string; phase?: string; waiting?: string; deleting?: boolean; labels?: Record<string, string> } = {}): Pod => ({
  kind: 'Pod',
  metadata: { name, namespace: 'default', ...(extra.deleting ? { deletionTimestamp: after } : {}), ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { nodeName: extra.node ?? 'kube-node-1' },
  status: {
    phase: extra.phase ?? 'Running',
    conditions: ready ? [{ type: 'Ready', status: ready.status, lastTransitionTime: ready.at }] : [],
    containerStatuses: [{ name: 'c', state: extra.waiting ? { waiting: { reason: extra.waiting } } : {} }],
  },
});

describe('workloadsVerdict: what a restore still waits for', () => {
  it('waits for a pod that was Ready before `down` and whose status this run has not changed yet', () => {
    expect(workloadsVerdict([pod('writer', { status: 'True', at: before })], since, nodes)).toEqual({ waiting: ['default/writer'], stuck: [] });
  });

  it('waits for a pod this run has seen not Ready yet (its containers starting again)', () => {
    expect(workloadsVerdict([pod('writer', { status: 'False', at: after })], since, nodes).waiting).toEqual(['default/writer']);
  });

  it('is done with a pod Ready again in this run', () => {
    expect(workloadsVerdict([pod('writer', { status: 'True', at: after })], since, nodes)).toEqual({ waiting: [], stuck: [] });
  });

  it('does not wait for pods that were not Ready before `down`, finished, being deleted, on hollow or fake nodes, or judged by wait-ready', () => {
    const pods = [
      pod('never-ready', { status: 'False', at: before }),
      pod('job', { status: 'False', at: before }, { phase: 'Succeeded' }),
      pod('failed', { status: 'True', at: before }, { phase: 'Failed' }),
      pod('going', { status: 'True', at: before }, { deleting: true }),
      pod('on-a-fake-node', { status: 'True', at: before }, { node: 'fake-node-1' }),
      pod('pending', undefined, { phase: 'Pending' }),
      // wait-ready's own: the API server's pod trails its /readyz, the second CoreDNS replica the first
      pod('kube-apiserver-kube-master', { status: 'True', at: before }, { node: 'kube-master', labels: { tier: 'control-plane' } }),
      pod('coredns-2', { status: 'False', at: after }, { labels: { 'k8s-app': 'kube-dns' } }),
    ];
    expect(workloadsVerdict(pods, since, nodes)).toEqual({ waiting: [], stuck: [] });
  });

  it('does not wait for a pod labelled as background (the built-in addons), however it stands', () => {
    const background = { labels: { 'local-cluster.dev/background': 'true' } };
    expect(workloadsVerdict([pod('metrics-server', { status: 'True', at: before }, background), pod('dashboard', { status: 'False', at: after }, background)], since, nodes)).toEqual({ waiting: [], stuck: [] });
    // any other value is not the mark
    expect(workloadsVerdict([pod('app', { status: 'True', at: before }, { labels: { 'local-cluster.dev/background': 'false' } })], since, nodes).waiting).toEqual(['default/app']);
  });

  it('names a pod that cannot come back by waiting instead of waiting for it', () => {
    const verdict = workloadsVerdict([pod('crashing', { status: 'False', at: after }, { waiting: 'CrashLoopBackOff' }), pod('starting', { status: 'False', at: after }, { waiting: 'ContainerCreating' })], since, nodes);
    expect(verdict).toEqual({ waiting: ['default/starting'], stuck: ['default/crashing: CrashLoopBackOff'] });
  });
});
