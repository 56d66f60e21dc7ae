import { describe, expect, it } from 'vitest';
import type { NetworkInfo } from '../src/index.js';

describe('chooseSubnet', () => {
  const net = (name: string, subnet: string, cluster?: string): NetworkInfo => ({ name, id: name, subnets: [subnet], labels: cluster ? { 'dev.local-cluster.cluster': cluster } : {} });
  it('keeps the default when it is free, and the own network when there is one (a snapshot keeps matching)', async () => {
    const { chooseSubnet } = await import('../src/index.js');
    expect(chooseSubnet('a', '10.192.0.0/16', [net('bridge', '172.17.0.0/16')])).toBe('10.192.0.0/16');
    expect(chooseSubnet('b', '10.192.0.0/16', [net('local-cluster-a', '10.192.0.0/16', 'a'), net('local-cluster-b', '10.193.0.0/16', 'b')])).toBe('10.193.0.0/16');
  });
  it('takes the next free /16 beside other clusters, skipping the pod and service ranges', async () => {
    const { chooseSubnet } = await import('../src/index.js');
    expect(chooseSubnet('b', '10.192.0.0/16', [net('local-cluster-a', '10.192.0.0/16', 'a'), net('x', '10.193.0.0/16')])).toBe('10.194.0.0/16');
    const taken = Array.from({ length: 52 }, (_, i) => net(`n${i}`, `10.${192 + i}.0.0/16`));
    expect(chooseSubnet('b', '10.192.0.0/16', taken)).toBe('10.245.0.0/16');
  });
});
