import { describe, expect, it } from 'vitest';
import type { KubeObjectList } from '../../src/lifecycle/kube-objects.js';
import { stuckKubelets } from '../../src/lifecycle/steps/wait-ready.js';

type Item = KubeObjectList['items'][number];
const pod = (name: string, nodeName: string, waiting?: { reason: string; message: string }): Item => ({
  kind: 'Pod',
  metadata: { name },
  spec: { nodeName },
  status: { containerStatuses: [{ state: waiting ? { waiting } : {} }] },
});
const node = (name: string, ready: { status: string; message?: string }): Item => ({ kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', ...ready }] } });

describe('stuckKubelets', () => {
  const refused = { reason: 'CreateContainerConfigError', message: 'services have not yet been read at least once, cannot construct envvars' };

  it('names the node of a pod refused for want of the Service list', () => {
    expect([...stuckKubelets([pod('coredns-a', 'kube-master', refused), pod('coredns-b', 'kube-node-1'), node('kube-master', { status: 'True' })], 0)]).toEqual(['kube-master']);
  });

  it('names a node NotReady for its CSINode only once the API server has answered for over 2 s', () => {
    const items = [node('kube-master', { status: 'False', message: 'CSINode is not yet initialized' }), node('kube-node-1', { status: 'False', message: 'container runtime network not ready' })];
    expect([...stuckKubelets(items, 1500)]).toEqual([]);
    expect([...stuckKubelets(items, 2500)]).toEqual(['kube-master']);
  });

  it('names nothing on a cluster coming up normally', () => {
    expect(stuckKubelets([pod('kube-proxy-x', 'kube-node-1', { reason: 'ContainerCreating', message: '' }), node('kube-node-1', { status: 'True' })], 5000).size).toBe(0);
  });
});
