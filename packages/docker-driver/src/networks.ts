import { DriverError, LABELS, type CallOptions, type NetworkInfo, type NetworkSpec, type Selector } from '@local-cluster/core';
import type Dockerode from 'dockerode';
import { call, callUnlessMissing, type DockerContext } from './api.js';
import { assertOwned, labelFilters, ownedLabels } from './labels.js';
import { isOurContainer } from './nodes.js';

/** User-defined bridge networks: they give nodes DNS by name and fixed addresses. */

interface NetworkLike {
  Id: string;
  Name: string;
  Labels?: Record<string, string> | null;
  Containers?: Record<string, { Name?: string }> | null;
  IPAM?: { Config?: { Subnet?: string }[] | null } | null;
}

function toNetworkInfo(network: NetworkLike): NetworkInfo {
  return {
    id: network.Id,
    name: network.Name,
    subnets: (network.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])),
    labels: network.Labels ?? {},
  };
}

function inspectNetwork(ctx: DockerContext, name: string, signal?: AbortSignal): Promise<NetworkLike | undefined> {
  return callUnlessMissing(ctx, `inspect network ${name}`, signal, () => ctx.docker.getNetwork(name).inspect() as Promise<NetworkLike>);
}

export async function createNetwork(ctx: DockerContext, spec: NetworkSpec, options: CallOptions = {}): Promise<NetworkInfo> {
  const { signal } = options;
  const operation = `create network ${spec.name}`;
  const created = await call(ctx, operation, signal, () =>
    ctx.docker.createNetwork({
      Name: spec.name,
      Driver: 'bridge',
      CheckDuplicate: true,
      ...(spec.subnet6 ? { EnableIPv6: true } : {}),
      IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, ...(spec.gateway ? { Gateway: spec.gateway } : {}) }, ...(spec.subnet6 ? [{ Subnet: spec.subnet6 }] : [])] },
      Options: {
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
      },
      Labels: ownedLabels(spec.labels, 'network'),
    }),
  );
  const network = await inspectNetwork(ctx, created.id, signal);
  if (!network) throw new DriverError(operation, 'the network vanished right after it was created');
  return toNetworkInfo(network);
}

export async function listNetworks(ctx: DockerContext, selector: Selector, options: CallOptions = {}): Promise<NetworkInfo[]> {
  const { signal } = options;
  const networks = await call(ctx, 'list networks', signal, () =>
    ctx.docker.listNetworks({ filters: { label: labelFilters(selector) }, abortSignal: signal } as Dockerode.NetworkListOptions),
  );
  return networks.map(toNetworkInfo);
}

export async function listAllNetworks(ctx: DockerContext, options: CallOptions = {}): Promise<NetworkInfo[]> {
  const { signal } = options;
  const networks = await call(ctx, 'list networks', signal, () =>
    ctx.docker.listNetworks({ abortSignal: signal } as Dockerode.NetworkListOptions),
  );
  return networks.map(toNetworkInfo);
}

/** Removes a network only if it carries the selector's labels; missing is fine. */
export async function removeNetwork(ctx: DockerContext, name: string, selector: Selector, options: CallOptions = {}): Promise<void> {
  const { signal } = options;
  const operation = `remove network ${name}`;
  const network = (await inspectNetwork(ctx, name, signal)) as NetworkWithEndpoints | undefined;
  if (!network) return;
  assertOwned(operation, 'network', network.Labels, selector);
  // nodes of other clusters joined to it (`local-cluster connect`) would keep it in use; a shared
  // network (dind.network) is removed only when no cluster uses it, and the engine refuses otherwise
  if (!network.Labels?.[LABELS.sharedNetwork]) await disconnectVisitors(ctx, network, signal);
  await callUnlessMissing(ctx, operation, signal, () => ctx.docker.getNetwork(network.Id).remove({ abortSignal: signal }));
}

interface NetworkWithEndpoints extends NetworkLike {
  Containers?: Record<string, { Name?: string; IPv4Address?: string }> | null;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Attaches a container of ours to a network, reachable there by its name and `aliases`, at `ip`
 * or else the highest free address of its subnet: the network's own nodes take addresses from
 * the bottom (.2 up), so a visitor from the top never takes one of theirs. Attached already: its
 * address there, nothing changed. With `selector`, the network must carry its labels.
 */
export async function connectNetwork(
  ctx: DockerContext,
  name: string,
  container: string,
  options: CallOptions & { aliases?: readonly string[]; ip?: string; selector?: Selector } = {},
): Promise<string> {
  const { signal } = options;
  const operation = `attach container ${container} to network ${name}`;
  const info = await callUnlessMissing(ctx, `inspect container ${container}`, signal, () => ctx.docker.getContainer(container).inspect({ abortSignal: signal }));
  if (!info) throw new DriverError(operation, 'there is no such container');
  if (!isOurContainer(info.Config.Labels)) {
    throw new DriverError(operation, 'refusing: the container was not created by local-cluster (it lacks a container role of ours)', { hint: 'Only containers of ours are attached to cluster networks.' });
  }
  const network = await callUnlessMissing(ctx, `inspect network ${name}`, signal, () => ctx.docker.getNetwork(name).inspect() as Promise<NetworkWithEndpoints>);
  if (!network) throw new DriverError(operation, 'the network does not exist');
  if (options.selector) assertOwned(operation, 'network', network.Labels, options.selector);
  const endpoints = Object.entries(network.Containers ?? {});
  const mine = endpoints.find(([id]) => id === info.Id);
  if (mine?.[1].IPv4Address) return mine[1].IPv4Address.split('/')[0]!;
  let address = options.ip;
  if (!address) {
    const subnet = network.IPAM?.Config?.[0]?.Subnet;
    const match = subnet ? /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet) : null;
    if (!match) throw new DriverError(operation, `the network has no IPv4 subnet (${subnet ?? 'none'})`);
    const used = new Set(endpoints.map(([, e]) => (e.IPv4Address ?? '').split('/')[0]));
    const base = ipToInt(match[1]!);
    const size = 2 ** (32 - Number(match[2]));
    for (let n = size - 2; n >= 2 && !address; n--) if (!used.has(intToIp(base + n))) address = intToIp(base + n);
    if (!address) throw new DriverError(operation, `no free address left in ${subnet}`);
  }
  const chosen = address;
  await call(ctx, operation, signal, () =>
    ctx.docker.getNetwork(network.Id).connect({ Container: info.Id, EndpointConfig: { Aliases: [...(options.aliases ?? [])], IPAMConfig: { IPv4Address: chosen } } } as Dockerode.NetworkConnectOptions),
  );
  return chosen;
}

/** Detaches the containers of ours that were attached to a network about to be removed (not made on it). */
async function disconnectVisitors(ctx: DockerContext, network: NetworkWithEndpoints, signal?: AbortSignal): Promise<void> {
  for (const [id] of Object.entries(network.Containers ?? {})) {
    const info = await callUnlessMissing(ctx, `inspect container ${id}`, signal, () => ctx.docker.getContainer(id).inspect({ abortSignal: signal }));
    if (!info || info.Config.Labels?.[LABELS.managed] !== 'true') continue;
    // the containers made on this network (its cluster's nodes) stay: they go before it, or the
    // engine refuses; the ones attached to it later (the local registry, another cluster's nodes) go
    if (info.HostConfig.NetworkMode === network.Name || info.HostConfig.NetworkMode === network.Id) continue;
    await callUnlessMissing(ctx, `disconnect ${info.Name} from network ${network.Name}`, signal, () =>
      ctx.docker.getNetwork(network.Id).disconnect({ Container: id, Force: true, abortSignal: signal }) as unknown as Promise<unknown>,
    );
  }
}
