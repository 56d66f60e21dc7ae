import { NODE_CAPABILITIES, type NodeSpec } from '@local-cluster/core';
import type Dockerode from 'dockerode';
import type { SecurityMode } from './info.js';

/**
 * NodeSpec → engine create options. Pure, so what a node container gets
 * (privileges, devices, mounts, ports) is testable without an engine.
 */

type HostConfig = Dockerode.HostConfig & {
  /** Missing from @types/dockerode; API >= 1.41. */
  CgroupnsMode?: 'private' | 'host';
};

export type CreateOptions = Dockerode.ContainerCreateOptions & { HostConfig: HostConfig };

const UNCONFINED = ['seccomp=unconfined', 'apparmor=unconfined'];

/** What a Kubernetes node (systemd, kubelet, containerd) needs, per security mode. */
export function nodeSecurityConfig(mode: SecurityMode, extraCapabilities: readonly string[] = []): HostConfig {
  const common: HostConfig = { CgroupnsMode: 'private' };
  if (mode === 'privileged') return { ...common, Privileged: true, SecurityOpt: [...UNCONFINED] };
  // Without --privileged: the node's capability set (core's NODE_CAPABILITIES and what its CNI
  // plugin adds) and no other, no masked or read-only /proc and /sys paths (what the CLI's
  // `systempaths=unconfined` means: empty lists, where absent ones mean the defaults), every
  // device node allowed (privileged pods, kube-proxy's among them, get every device, and a
  // cgroup v1 child cannot allow more than its parent), /dev/kmsg for the kubelet, and no
  // SELinux label (what --privileged implies; accepted and ignored without SELinux).
  return {
    ...common,
    CapDrop: ['ALL'],
    CapAdd: [...new Set([...NODE_CAPABILITIES, ...extraCapabilities])],
    SecurityOpt: [...UNCONFINED, 'label=disable'],
    MaskedPaths: [],
    ReadonlyPaths: [],
    DeviceCgroupRules: ['a *:* rwm'],
    Devices: [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rwm' }],
  };
}

export function portKey(containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): string {
  return `${containerPort}/${protocol}`;
}

/** Engine create options for a node. `security` is undefined for non-privileged nodes. */
export function containerCreateOptions(
  spec: NodeSpec,
  labels: Record<string, string>,
  security: SecurityMode | undefined,
): CreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports ?? []) {
    const key = portKey(port.containerPort, port.protocol);
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: port.hostIp ?? '', HostPort: port.hostPort ? String(port.hostPort) : '' });
  }

  // An empty Source is an anonymous volume (or, for tmpfs, the only valid value).
  const mounts: Dockerode.MountSettings[] = (spec.mounts ?? []).map((mount) => ({
    Type: mount.type,
    Source: mount.type === 'tmpfs' ? '' : mount.source ?? '',
    Target: mount.target,
    ReadOnly: mount.readOnly ?? false,
  }));
  const mounted = new Set(mounts.map((m) => m.Target));

  const hostConfig: HostConfig = {
    NetworkMode: spec.network,
    PortBindings: bindings,
    Mounts: mounts,
    // nodes come back when the engine restarts (addresses and ports are fixed); `docker stop` keeps one stopped
    RestartPolicy: { Name: 'unless-stopped' },
  };
  const anonymousVolumes: Record<string, object> = {};
  if (security !== undefined) {
    Object.assign(hostConfig, nodeSecurityConfig(security, spec.capabilities));
    // systemd wants /run and /tmp on tmpfs; /var must not be overlayfs, since
    // containerd's overlay snapshotter cannot nest on it.
    const tmpfs: Record<string, string> = {};
    for (const dir of ['/run', '/tmp']) if (!mounted.has(dir)) tmpfs[dir] = '';
    hostConfig.Tmpfs = tmpfs;
    if (!mounted.has('/var')) anonymousVolumes['/var'] = {};
  }

  return {
    name: spec.name,
    Hostname: spec.hostname,
    Image: spec.image,
    Labels: labels,
    Env: spec.env ? Object.entries(spec.env).map(([key, value]) => `${key}=${value}`) : undefined,
    Cmd: spec.cmd ? [...spec.cmd] : undefined,
    Entrypoint: spec.entrypoint ? [...spec.entrypoint] : undefined,
    ExposedPorts: exposed,
    Volumes: anonymousVolumes,
    HostConfig: hostConfig,
    NetworkingConfig: spec.network
      ? {
          EndpointsConfig: {
            [spec.network]: {
              Aliases: [spec.hostname],
              ...(spec.ip ? { IPAMConfig: { IPv4Address: spec.ip, ...(spec.ip6 ? { IPv6Address: spec.ip6 } : {}) } } : {}),
            },
          },
        }
      : undefined,
  };
}
