import { describe, expect, it } from 'vitest';
import { CNI_API_VERSION, configSchema, snapshotConfigHash, type CniPlugin, type UpOptions } from '../src/index.js';

const cni: CniPlugin = { apiVersion: CNI_API_VERSION, kind: 'cni', name: 'bridge', defaultPodSubnet: '10.244.0.0/16' };

function hash(config: Record<string, unknown>, nodeImage = 'local-cluster/node:v1.34.4-abc'): string {
  const options = { config: configSchema.parse(config), driver: undefined as never, cni, nodeImage: { ref: nodeImage } } satisfies UpOptions;
  return snapshotConfigHash(options, '10.244.0.0/16');
}

describe('snapshot validity', () => {
  it('changes with the address the API server certificate names (cluster.apiServerAddress, a remote engine), not with a local engine', () => {
    const remote = (address: string) => ({ location: { endpoint: `tcp://${address}:2376`, remote: true, address } }) as never;
    const local = { location: { endpoint: 'tcp://127.0.0.1:2376', remote: false, address: '127.0.0.1' } } as never;
    const withDriver = (driver: never, config: Record<string, unknown> = {}) =>
      snapshotConfigHash({ config: configSchema.parse(config), driver, cni, nodeImage: { ref: 'local-cluster/node:v1.34.4-abc' } }, '10.244.0.0/16');
    expect(withDriver(local)).toBe(hash({}));
    expect(withDriver(remote('build-box'))).not.toBe(hash({}));
    expect(withDriver(remote('build-box'))).not.toBe(withDriver(remote('other-box')));
    expect(hash({ cluster: { apiServerAddress: '192.168.1.20' } })).not.toBe(hash({}));
  });

  it('ignores what a restore can change: the API server host port and verbosity', () => {
    expect(hash({ cluster: { apiServerPort: 6443 }, verbose: 2 })).toBe(hash({}));
  });

  it('changes with the layout, the network, the Kubernetes version and the node image', () => {
    const base = hash({});
    expect(hash({ cluster: { numNodes: 3 } })).not.toBe(base);
    expect(hash({ dind: { subnet: '10.193.0.0/16' } })).not.toBe(base);
    expect(hash({ cluster: { noDedicated: true } })).not.toBe(base);
    expect(hash({}, 'local-cluster/node:v1.34.4-def')).not.toBe(base);
  });

  it('changes with every cluster-shape setting: gates, runtime-config, flags, patches, labels, taints, mounts, ports, groups', () => {
    const variants = [
      { featureGates: { CSIVolumeHealth: true } },
      { featureGates: { CSIVolumeHealth: false } },
      { runtimeConfig: { 'api/alpha': 'true' } },
      { componentArgs: { apiServer: { 'event-ttl': '2h' } } },
      { kubeadmPatches: [{ kind: 'KubeletConfiguration', merge: { maxPods: 150 } }] },
      { controlPlane: { labels: { tier: 'control' } } },
      { controlPlane: { taints: ['a:NoSchedule'] } },
      { controlPlane: { extraMounts: [{ hostPath: '/tmp', containerPath: '/data' }] } },
      { controlPlane: { extraPortMappings: [{ containerPort: 30080, hostPort: 18080 }] } },
      { workers: [{ count: 2 }] },
      { workers: [{ count: 1 }, { count: 1 }] },
    ].map((cluster) => hash({ cluster }));
    expect(new Set([hash({}), ...variants]).size).toBe(variants.length + 1);
  });
});
