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

describe('bridge in each address family', () => {
  it('declares both families', () => {
    expect(factory().supports?.ipFamilies).toEqual(['ipv4', 'ipv6']);
  });

  it('dual stack: one host-local range and one default route per family', () => {
    const conf = JSON.parse(bridgeConflist(['10.244.1.0/24', 'fd00:10:244:1::/64']));
    expect(conf.plugins[0].ipam).toEqual({
      type: 'host-local',
      ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    });
  });

  it('IPv4 alone: the conflist and hook are what they were before families', () => {
    expect(bridgeConflist('10.244.1.0/24')).toBe(bridgeConflist(['10.244.1.0/24']));
    expect(JSON.parse(bridgeConflist('10.244.1.0/24')).plugins[0].ipam.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    expect(podNetworkHook('10.244.0.0/16', [])).not.toMatch(/ip6|-6|ipv6/);
  });

  it('IPv6 routes go via the other node IPv6 address, with ip6tables masquerading and forwarding on', () => {
    const hook = podNetworkHook(['10.244.0.0/16', 'fd00:10:244::/56'], [
      { cidr: '10.244.1.0/24', via: '10.241.0.3' },
      { cidr: 'fd00:10:244:1::/64', via: 'fd00:10:241::3' },
    ]);
    expect(hook).toContain('ip route replace 10.244.1.0/24 via 10.241.0.3');
    expect(hook).toContain('ip -6 route replace fd00:10:244:1::/64 via fd00:10:241::3');
    expect(hook).toContain('ip6tables -t nat -C POSTROUTING -s fd00:10:244::/56 ! -d fd00:10:244::/56 -j MASQUERADE');
    expect(hook).toContain('sysctl -qw net.ipv6.conf.all.forwarding=1');
  });
});
