import { describe, expect, it } from 'vitest';
import { testCniPlugin } from '@local-cluster/core/testing';
import factory from '../src/index.js';

testCniPlugin({ factory, packageName: '@local-cluster/cni-bridge' }, { describe, it, expect });

import { bridgeConflist } from '../src/index.js';

describe('bridge conflist', () => {
  it('puts the node pod CIDR into host-local IPAM on the named bridge', () => {
    const conf = JSON.parse(bridgeConflist('10.244.1.0/24', 'br-test'));
    expect(conf.plugins[0]).toMatchObject({
      type: 'bridge',
      bridge: 'br-test',
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] },
    });
    expect(conf.plugins.map((p: { type: string }) => p.type)).toEqual(['bridge', 'portmap', 'loopback']);
  });
});

import { podNetworkHook } from '../src/index.js';

describe('pod network hook', () => {
  it('routes each other node pod CIDR via that node and masquerades only traffic leaving the pod network', () => {
    const hook = podNetworkHook('10.244.0.0/16', [
      { cidr: '10.244.1.0/24', via: '10.192.0.3' },
      { cidr: '10.244.2.0/24', via: '10.192.0.4' },
    ]);
    expect(hook).toContain('ip route replace 10.244.1.0/24 via 10.192.0.3');
    expect(hook).toContain('ip route replace 10.244.2.0/24 via 10.192.0.4');
    expect(hook).toContain('-s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE');
  });
});
