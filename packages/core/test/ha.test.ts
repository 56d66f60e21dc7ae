import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configSchema, DISCOVERY_FILE, discoveryKubeconfig, haproxyConfig, loadBalancerSpec, planNodes, renderClusterKubeadm, type CniPlugin } from '../src/index.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const cni = { name: 'bridge', defaultPodSubnet: '10.244.0.0/16' } as unknown as CniPlugin;

/** Every node's kubeadm documents, by the hostname in the section header. */
function documentsByNode(overrides: Record<string, unknown>): Map<string, Doc[]> {
  const config = configSchema.parse(overrides);
  const out = new Map<string, Doc[]>();
  for (const section of renderClusterKubeadm(config, planNodes(config), cni).split(/^---\n(?=# )/m)) {
    const host = /^# (\S+)/.exec(section)![1]!;
    out.set(host, yaml.loadAll(section) as Doc[]);
  }
  return out;
}

describe('several control planes', () => {
  const ha = { dind: { subnet: '10.240.0.0/16' }, cluster: { controlPlanes: 3, numNodes: 2 } };

  it('plans kube-master, kube-master-2, kube-master-3, then the workers, on consecutive addresses, and the load balancer after them', () => {
    const config = configSchema.parse(ha);
    const plan = planNodes(config);
    expect(plan.nodes.map((n) => `${n.hostname}/${n.role}/${n.address}`)).toEqual([
      'kube-master/control-plane/10.240.0.2',
      'kube-master-2/control-plane/10.240.0.3',
      'kube-master-3/control-plane/10.240.0.4',
      'kube-node-1/worker/10.240.0.5',
      'kube-node-2/worker/10.240.0.6',
    ]);
    expect(plan.loadBalancer).toEqual({ hostname: 'kube-lb', address: '10.240.0.7' });
    expect(plan.apiEndpointAddress).toBe('10.240.0.7');
    expect(planNodes(configSchema.parse({ dind: { subnet: '10.240.0.0/16' } })).loadBalancer).toBeUndefined();
  });

  it('keeps one control plane as before: no load balancer, no leader election, kube-master as the endpoint', () => {
    const docs = documentsByNode({ cluster: { numNodes: 1 } });
    const [init, cluster] = docs.get('kube-master')!;
    expect(init!.certificateKey).toBeUndefined();
    expect(cluster!.controlPlaneEndpoint).toBe('kube-master:6443');
    expect(cluster!.controllerManager.extraArgs).toContainEqual({ name: 'leader-elect', value: 'false' });
    const [join] = docs.get('kube-node-1')!;
    expect(join!.controlPlane).toBeUndefined();
    expect(join!.discovery.file.kubeConfigPath).toBe(DISCOVERY_FILE);
    expect(discoveryKubeconfig(planNodes(configSchema.parse({ cluster: { numNodes: 1 } })), 'PEM')).toContain('server: https://kube-master:6443');
  });

  it('puts every node behind the load balancer, shares certificates by key, and elects leaders', () => {
    const docs = documentsByNode(ha);
    expect([...docs.keys()]).toEqual(['kube-master', 'kube-master-2', 'kube-master-3', 'kube-node-1', 'kube-node-2']);
    const [init, cluster] = docs.get('kube-master')!;
    expect(init!.certificateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(cluster!.controlPlaneEndpoint).toBe('kube-lb:6443');
    expect(cluster!.apiServer.certSANs).toEqual(expect.arrayContaining(['kube-lb', '10.240.0.7', 'kube-master-2', '10.240.0.3', '127.0.0.1']));
    expect(cluster!.controllerManager.extraArgs).toContainEqual({ name: 'leader-elect', value: 'true' });
    expect(cluster!.scheduler.extraArgs).toContainEqual({ name: 'leader-elect', value: 'true' });
    for (const cp of ['kube-master-2', 'kube-master-3']) {
      const [join] = docs.get(cp)!;
      expect(join!.controlPlane.localAPIEndpoint.advertiseAddress).toBe(cp === 'kube-master-2' ? '10.240.0.3' : '10.240.0.4');
      expect(join!.controlPlane.certificateKey).toBe(init!.certificateKey);
      expect(join!.discovery.file.kubeConfigPath).toBe(DISCOVERY_FILE);
      expect(join!.nodeRegistration.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    }
    expect(discoveryKubeconfig(planNodes(configSchema.parse(ha)), 'PEM')).toContain('server: https://kube-lb:6443');
    const [worker] = docs.get('kube-node-1')!;
    expect(worker!.controlPlane).toBeUndefined();
    expect(worker!.nodeRegistration.taints).toEqual([]);
  });

  it('lets control planes run workloads when there are no workers', () => {
    const docs = documentsByNode({ cluster: { controlPlanes: 3, numNodes: 0 } });
    expect(docs.get('kube-master')![0]!.nodeRegistration.taints).toEqual([]);
    expect(docs.get('kube-master-3')![0]!.nodeRegistration.taints).toEqual([]);
  });

  it('gives only the first control plane the port mappings of cluster.controlPlane', () => {
    const config = configSchema.parse({ cluster: { controlPlanes: 3, controlPlane: { labels: { zone: 'a' }, extraPortMappings: [{ containerPort: 80, hostPort: 18080 }] } } });
    const [first, second] = planNodes(config).nodes;
    expect(first!.settings.extraPortMappings).toHaveLength(1);
    expect(second!.settings.extraPortMappings).toEqual([]);
    expect(second!.settings.labels).toEqual({ zone: 'a' });
  });

  it('balances over every control plane, checked on /readyz, and publishes the API port on 127.0.0.1', () => {
    const config = configSchema.parse(ha);
    const plan = planNodes(config);
    const text = haproxyConfig(plan);
    expect(text.match(/^\s+server .*$/gm)).toEqual(['  server kube-master 10.240.0.2:6443', '  server kube-master-2 10.240.0.3:6443', '  server kube-master-3 10.240.0.4:6443']);
    expect(text).toContain('uri /readyz');
    const spec = loadBalancerSpec(config, plan, 'local-cluster-local', 40000);
    expect(spec.ip).toBe('10.240.0.7');
    expect(spec.ports).toEqual([{ containerPort: 6443, hostIp: '127.0.0.1', hostPort: 40000 }]);
    expect(spec.labels['dev.local-cluster.role']).toBe('load-balancer');
  });

  it('refuses a control-plane count outside 1..7', () => {
    expect(() => configSchema.parse({ cluster: { controlPlanes: 0 } })).toThrow();
    expect(() => configSchema.parse({ cluster: { controlPlanes: 8 } })).toThrow();
    expect(() => configSchema.parse({ cluster: { controlPlanes: 1.5 } })).toThrow();
  });
});
