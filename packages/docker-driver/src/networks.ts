import { DriverError, type CallOptions, type NetworkInfo, type NetworkSpec, type Selector } from '@local-cluster/core';
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
      IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, ...(spec.gateway ? { Gateway: spec.gateway } : {}) }] },
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

/**
 * Attaches a container of ours to a network, reachable there by its name and `aliases`;
 * nothing happens when it is attached already.
 */
export async function connectNetwork(ctx: DockerContext, network: string, container: string, options: CallOptions & { aliases?: readonly string[]; ip?: string } = {}): Promise<void> {
  const { signal } = options;
  const operation = `attach container ${container} to network ${network}`;
  const info = await callUnlessMissing(ctx, `inspect container ${container}`, signal, () => ctx.docker.getContainer(container).inspect({ abortSignal: signal }));
  if (!info) throw new DriverError(operation, 'there is no such container');
  if (!isOurContainer(info.Config.Labels)) {
    throw new DriverError(operation, 'refusing: the container was not created by local-cluster (it lacks a container role of ours)', { hint: 'Only containers of ours are attached to cluster networks.' });
  }
  if (info.NetworkSettings.Networks?.[network]) return;
  await call(ctx, operation, signal, () => ctx.docker.getNetwork(network).connect({ Container: info.Id, EndpointConfig: { Aliases: [...(options.aliases ?? [])], ...(options.ip ? { IPAMConfig: { IPv4Address: options.ip } } : {}) } }));
}

/** Removes a network only if it carries the selector's labels; missing is fine. */
export async function removeNetwork(ctx: DockerContext, name: string, selector: Selector, options: CallOptions = {}): Promise<void> {
  const { signal } = options;
  const operation = `remove network ${name}`;
  const network = await inspectNetwork(ctx, name, signal);
  if (!network) return;
  assertOwned(operation, 'network', network.Labels, selector);
  // containers of ours shared by clusters (the local registry) stay attached after the cluster's
  // nodes are gone: detach them, or the engine refuses ("has active endpoints")
  for (const id of Object.keys(network.Containers ?? {})) {
    const info = await callUnlessMissing(ctx, `inspect container ${id}`, signal, () => ctx.docker.getContainer(id).inspect({ abortSignal: signal }));
    if (!info || !isOurContainer(info.Config.Labels)) continue;
    await callUnlessMissing(ctx, `detach container ${info.Name.replace(/^\//, '')} from network ${name}`, signal, () =>
      ctx.docker.getNetwork(network.Id).disconnect({ Container: id, Force: true }),
    );
  }
  await callUnlessMissing(ctx, operation, signal, () => ctx.docker.getNetwork(network.Id).remove({ abortSignal: signal }));
}
