import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { hollowManifests, namesOfPod, placementOf, schedulingProblem } from '../../src/lifecycle/hollow-nodes-on.js';

const node = (name: string, cpu: string, memory: string, extra: { taint?: boolean; ready?: boolean } = {}) => ({
  metadata: { name },
  spec: extra.taint ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {},
  status: { allocatable: { cpu, memory }, conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
});
const pod = (nodeName: string, cpu: string, memory: string) => ({ spec: { nodeName, containers: [{ resources: { requests: { cpu, memory } } }] }, status: { phase: 'Running' } });

describe('hollow nodes on another cluster', () => {
  it('gives each pod of the StatefulSet the hollow nodes of its ordinal', () => {
    expect(namesOfPod(100, 0)).toEqual(Array.from({ length: 25 }, (_, i) => `hollow-node-${i + 1}`));
    expect(namesOfPod(60, 2)).toEqual(Array.from({ length: 10 }, (_, i) => `hollow-node-${i + 51}`));
    expect(namesOfPod(10, 0)).toHaveLength(10);
    expect(namesOfPod(10, 1)).toEqual([]);
  });

  it('makes a labelled namespace, a Secret and a StatefulSet of ceil(N/25) pods asking 10m and 30 MiB per hollow kubelet', () => {
    type Sts = { spec: { replicas: number; template: { spec: { containers: { imagePullPolicy: string; resources: { requests: unknown }; env: unknown[] }[] } } } };
    const [ns, secret, sts] = hollowManifests('sim', 60, 'docker.io/local-cluster/kubemark:v1.34.4', 'KUBECONFIG', 'Never') as [object, object, Sts];
    expect(ns).toMatchObject({ kind: 'Namespace', metadata: { name: 'local-cluster-hollow-sim', labels: { 'local-cluster.dev/hollow-nodes-of': 'sim', 'app.kubernetes.io/managed-by': 'local-cluster' } } });
    expect(secret).toMatchObject({ kind: 'Secret', stringData: { kubeconfig: 'KUBECONFIG' } });
    expect(sts.spec.replicas).toBe(3);
    const container = sts.spec.template.spec.containers[0]!;
    expect(container.imagePullPolicy).toBe('Never');
    expect(container.resources.requests).toEqual({ cpu: '250m', memory: '750Mi' });
    expect(container.env).toContainEqual({ name: 'COUNT', value: '60' });
  });

  it('refuses a count the schedulable nodes cannot hold, counting what their pods ask for', () => {
    const nodes = [node('cp', '2', '8Gi', { taint: true }), node('w1', '2', '8Gi'), node('w2', '2', '8Gi'), node('down', '8', '64Gi', { ready: false })];
    expect(schedulingProblem(100, nodes, [])).toBeUndefined();
    // 2 x 2 cores at 250m a pod: 16 pods fit, 1000 hollow nodes need 40
    expect(schedulingProblem(1000, nodes, [])).toMatch(/1000 hollow nodes need 40 pod\(s\) of up to 250m CPU .* but the 2 schedulable node\(s\) have room for 16$/);
    // what runs there counts
    expect(schedulingProblem(100, nodes, [pod('w1', '1900m', '1Gi'), pod('w2', '1900m', '1Gi')])).toMatch(/room for 0$/);
    expect(schedulingProblem(25, [node('w', '4', '500Mi')], [])).toMatch(/room for 0$/);
  });

  it('tells a local cluster from a kubeconfig, and refuses what makes no sense', () => {
    const load = (flags: Record<string, string>) => loadConfig({ env: {}, flags: { name: 'sim', ...flags } }).config;
    expect(placementOf(load({ 'hollow-nodes': '5', 'hollow-nodes-on': 'ext' }))).toEqual({ cluster: 'ext' });
    expect(placementOf(load({ 'hollow-nodes': '5', 'hollow-nodes-on': '/k/config.yaml', 'hollow-nodes-context': 'c' }))).toEqual({ kubeconfig: '/k/config.yaml', context: 'c' });
    expect(placementOf(load({ 'hollow-nodes': '5' }))).toBeUndefined();
    expect(() => load({ 'hollow-nodes-on': 'ext' })).toThrow(/cluster\.hollowNodesOn .* but cluster\.hollowNodes is 0/);
    expect(() => load({ 'hollow-nodes': '5', 'hollow-nodes-on': 'sim' })).toThrow(/names this cluster/);
    expect(() => load({ 'hollow-nodes': '5', 'hollow-nodes-on': 'ext', 'hollow-nodes-context': 'c' })).toThrow(/is a local cluster, not a kubeconfig/);
    expect(() => load({ 'hollow-nodes': '5', 'hollow-nodes-context': 'c' })).toThrow(/cluster\.hollowNodesOn names no kubeconfig/);
  });
});
