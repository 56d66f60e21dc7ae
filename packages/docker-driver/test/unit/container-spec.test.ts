import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '@local-cluster/core';
import { NODE_CAPABILITIES } from '@local-cluster/core';
import { containerCreateOptions, nodeSecurityConfig } from '../../src/container-spec.js';

const spec: NodeSpec = {
  name: 'dev-kube-master',
  hostname: 'kube-master',
  image: 'local-cluster-node:test',
  network: 'dev-net',
  ip: '10.1.2.10',
  labels: { l: 'v' },
  env: { A: '1' },
  ports: [{ containerPort: 6443, hostIp: '127.0.0.1' }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }],
  mounts: [
    { type: 'volume', source: 'dev-data', target: '/data' },
    { type: 'bind', source: '/host/dir', target: '/mnt', readOnly: true },
    { type: 'tmpfs', target: '/scratch' },
  ],
  cmd: ['sleep', 'infinity'],
  entrypoint: ['/init'],
};

describe('containerCreateOptions', () => {
  it('maps identity, env, command, ports and mounts', () => {
    const options = containerCreateOptions(spec, { l: 'v' }, undefined);
    expect(options).toMatchObject({
      name: 'dev-kube-master',
      Hostname: 'kube-master',
      Image: 'local-cluster-node:test',
      Labels: { l: 'v' },
      Env: ['A=1'],
      Cmd: ['sleep', 'infinity'],
      Entrypoint: ['/init'],
      ExposedPorts: { '6443/tcp': {}, '53/udp': {} },
    });
    expect(options.HostConfig.PortBindings).toEqual({
      '6443/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '53/udp': [{ HostIp: '', HostPort: '5353' }],
    });
    expect(options.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'dev-data', Target: '/data', ReadOnly: false },
      { Type: 'bind', Source: '/host/dir', Target: '/mnt', ReadOnly: true },
      { Type: 'tmpfs', Source: '', Target: '/scratch', ReadOnly: false },
    ]);
  });

  it('joins the network with the hostname as alias and the fixed IP', () => {
    const options = containerCreateOptions(spec, {}, undefined);
    expect(options.HostConfig.NetworkMode).toBe('dev-net');
    expect(options.NetworkingConfig).toEqual({
      EndpointsConfig: { 'dev-net': { Aliases: ['kube-master'], IPAMConfig: { IPv4Address: '10.1.2.10' } } },
    });
    expect(containerCreateOptions({ ...spec, network: undefined }, {}, undefined).NetworkingConfig).toBeUndefined();
  });

  it('gives plain containers no extra privileges', () => {
    const { HostConfig, Volumes } = containerCreateOptions(spec, {}, undefined);
    expect(HostConfig.Privileged).toBeUndefined();
    expect(HostConfig.CapAdd).toBeUndefined();
    expect(HostConfig.Tmpfs).toBeUndefined();
    expect(Volumes).toEqual({});
  });

  it('gives nodes tmpfs /run and /tmp and an anonymous /var, unless mounted', () => {
    const node = containerCreateOptions(spec, {}, 'privileged');
    expect(node.HostConfig.Tmpfs).toEqual({ '/run': '', '/tmp': '' });
    expect(node.Volumes).toEqual({ '/var': {} });
    const own = containerCreateOptions({ ...spec, mounts: [{ type: 'volume', source: 'v', target: '/var' }, { type: 'tmpfs', target: '/tmp' }] }, {}, 'privileged');
    expect(own.HostConfig.Tmpfs).toEqual({ '/run': '' });
    expect(own.Volumes).toEqual({});
  });
});

describe('nodeSecurityConfig', () => {
  it('uses --privileged when the engine allows it', () => {
    expect(nodeSecurityConfig('privileged')).toEqual({
      CgroupnsMode: 'private',
      Privileged: true,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    });
  });

  it('otherwise gives the node capability set and no other, unmasked /proc and /sys, all devices and /dev/kmsg', () => {
    const config = nodeSecurityConfig('capabilities');
    expect(config.Privileged).toBeUndefined();
    expect(config.CapAdd).toEqual([...NODE_CAPABILITIES]);
    for (const dangerous of ['SYS_MODULE', 'SYS_TIME', 'SYS_RAWIO', 'SYS_BOOT', 'MAC_ADMIN', 'ALL']) expect(config.CapAdd).not.toContain(dangerous);
    expect(config).toMatchObject({
      CgroupnsMode: 'private',
      CapDrop: ['ALL'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      Devices: [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rwm' }],
    });
  });

  it("adds what the node's CNI plugin asks for, once", () => {
    const spec = { name: 'n', hostname: 'n', image: 'i', labels: {}, privileged: true, capabilities: ['BPF', 'PERFMON', 'NET_ADMIN'] };
    const { HostConfig } = containerCreateOptions(spec, {}, 'capabilities');
    expect(HostConfig.CapAdd).toEqual([...NODE_CAPABILITIES, 'BPF', 'PERFMON']);
    expect(containerCreateOptions(spec, {}, 'privileged').HostConfig.CapAdd).toBeUndefined();
  });
});
