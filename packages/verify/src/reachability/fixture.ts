import yaml from 'js-yaml';
import { clusterPodSubnets, type Kubectl, nearLastAddress6, nodeAddresses, nthAddress, parseCidr, parseCidr6, waitFor } from '@local-cluster/core';
import { kubectlExec, runTable, type CellSpec, type Probe, type Source, type TableSpec } from './probe.js';
import { HTTP_PORT, UDP_PORT, type ServerImage } from './servers.js';
import type { NetcheckTable } from './table.js';

export const APP = 'netcheck';

export interface NodeInfo {
  name: string;
  ip: string;
}

export interface Server {
  node: string;
  pod: string;
  ip: string;
  /** What the server answers /hostname with (the pod's name; the node's hostname on hostNetwork). */
  hostname: string;
}

/** Everything the tables of one run share: one namespace, a server pod (and a hostNetwork one) on every node. */
export interface Fixture {
  kubectl: Kubectl;
  namespace: string;
  /** The servers' image and the tools its pods probe with. */
  server: ServerImage;
  /** = server.image. */
  image: string;
  nodes: NodeInfo[];
  /** Node name -> its server pod. */
  servers: Map<string, Server>;
  /** Node name -> its hostNetwork server pod (empty when deployed without). */
  hostServers: Map<string, Server>;
  /**
   * Ports of the first control plane's container published on this machine, by container port
   * (the ingress addon's 80 and 443): where the host source reaches them on 127.0.0.1.
   */
  hostPorts?: Map<number, number>;
  /**
   * The address family the tables probe: addresses of that family, Services of that family
   * alone, AAAA records for IPv6. Unset: the cluster's one family, Services as the API makes them.
   */
  family?: 'ipv4' | 'ipv6';
  signal?: AbortSignal;
}

/** Whether an address is of the family (IPv6 addresses have colons). */
export function ofFamily(address: string, family: 'ipv4' | 'ipv6'): boolean {
  return address.includes(':') === (family === 'ipv6');
}

/** The DNS record type of the fixture's family: AAAA for IPv6, else A. */
export function addressRecord(f: Fixture): 'A' | 'AAAA' {
  return f.family === 'ipv6' ? 'AAAA' : 'A';
}

/** Whether a DNS answer holds an address of the fixture's family. */
export function hasAddress(f: Fixture): (answer: string) => boolean {
  return f.family === 'ipv6' ? (a) => a.split(/\s+/).some((w) => /^[0-9a-f]*:[0-9a-f:]*$/i.test(w) && w.length > 2) : (a) => /\d+\.\d+\.\d+\.\d+/.test(a);
}

export function podSources(f: Fixture): Source[] {
  return [...f.servers.values()].map((s) => ({ name: `pod@${s.node}`, pod: s.pod }));
}

export function hostnetSources(f: Fixture): Source[] {
  return [...f.hostServers.values()].map((s) => ({ name: `hostnet@${s.node}`, pod: s.pod }));
}

export const HOST_SOURCE: Source = { name: 'host', host: true };

export function service(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

/** Ports of a Service over the server pods: HTTP 80 -> 8080/TCP, 8081/UDP. */
export const WEB_PORTS = [
  { name: 'http', port: 80, targetPort: HTTP_PORT, protocol: 'TCP' },
  { name: 'udp', port: UDP_PORT, targetPort: UDP_PORT, protocol: 'UDP' },
];

export async function apply(f: Fixture, objects: readonly object[]): Promise<void> {
  await f.kubectl(['-n', f.namespace, 'apply', '-f', '-'], objects.map((o) => yaml.dump(inFamily(f, o))).join('---\n'));
}

/** A Service of the fixture's family alone (an ExternalName Service has no family). */
function inFamily(f: Fixture, object: object): object {
  const o = object as { kind?: string; spec?: { type?: string } };
  if (!f.family || o.kind !== 'Service' || o.spec?.type === 'ExternalName') return object;
  return { ...o, spec: { ...o.spec, ipFamilyPolicy: 'SingleStack', ipFamilies: [f.family === 'ipv6' ? 'IPv6' : 'IPv4'] } };
}

export async function waitPodsReady(f: Fixture, selector: string, timeoutSeconds = 180): Promise<void> {
  await f.kubectl(['-n', f.namespace, 'wait', '--for=condition=Ready', 'pod', '-l', selector, `--timeout=${timeoutSeconds}s`]);
}

export async function podIp(f: Fixture, pod: string): Promise<string> {
  const family = f.family;
  const read = async () => {
    const ips = (await f.kubectl(['-n', f.namespace, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIPs[*].ip}'])).trim().split(/\s+/).filter(Boolean);
    return (family ? ips.find((ip) => ofFamily(ip, family)) : ips[0]) || undefined;
  };
  return waitFor(`the IP of pod ${pod}`, read, {
    timeoutMs: 60_000,
    ...(f.signal ? { signal: f.signal } : {}),
  });
}

export async function clusterIp(f: Fixture, name: string): Promise<string> {
  return (await f.kubectl(['-n', f.namespace, 'get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
}

/** Waits until the Service's EndpointSlices list `count` ready endpoints. */
export async function waitEndpoints(f: Fixture, name: string, count: number): Promise<void> {
  await waitFor(
    `${count} ready endpoint(s) of service ${name}`,
    async () => {
      const out = await f.kubectl(['-n', f.namespace, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${name}`, '-o', 'jsonpath={range .items[*].endpoints[*]}{.conditions.ready}{"\\n"}{end}']);
      return out.split('\n').filter((l) => l.trim() === 'true').length === count ? true : undefined;
    },
    { timeoutMs: 60_000, ...(f.signal ? { signal: f.signal } : {}) },
  );
}

export function dnsName(f: Fixture, service: string): string {
  return `${service}.${f.namespace}.svc.cluster.local`;
}

/** The last usable address of the pod range kubeadm was given (of that family; default the first range), unless a pod has it: nothing may answer there. */
export async function unusedPodAddress(kubectl: Kubectl, family?: 'ipv4' | 'ipv6'): Promise<string | undefined> {
  const subnets = await clusterPodSubnets(kubectl);
  const subnet = family ? subnets.find((s) => ofFamily(s, family)) : subnets[0];
  let address: string | undefined;
  if (subnet && parseCidr6(subnet)) address = nearLastAddress6(subnet);
  else {
    const parsed = subnet ? parseCidr(subnet) : undefined;
    if (!parsed || parsed.prefix > 30) return undefined;
    address = nthAddress(`${parsed.address}/${parsed.prefix}`, 2 ** (32 - parsed.prefix) - 2);
  }
  const used = (await kubectl(['get', 'pods', '-A', '-o', 'jsonpath={.items[*].status.podIPs[*].ip}'])).split(/\s+/);
  return used.includes(address) ? undefined : address;
}

/** Accepts answers that are one of these backends' names (every line, for multi-request probes). */
export function answeredBy(names: readonly string[]): (answer: string) => boolean {
  const known = new Set(names);
  return (answer) => {
    const words = answer.split(/\s+/).filter(Boolean);
    return words.length > 0 && words.every((w) => known.has(w));
  };
}

/** Cells from every source to every target; `expect` false for a pair: a negative control, undefined: no cell. */
export function grid(
  sources: readonly Source[],
  targets: readonly { target: string; probe: Probe; expect: boolean | ((source: Source) => boolean | undefined); accept?: (answer: string) => boolean }[],
): CellSpec[] {
  return sources.flatMap((source) =>
    targets.flatMap((t) => {
      const expect = typeof t.expect === 'function' ? t.expect(source) : t.expect;
      return expect === undefined ? [] : [{ source, target: t.target, probe: t.probe, expect, ...(t.accept ? { accept: t.accept } : {}) }];
    }),
  );
}

/** Probes tables from the fixture's pods, with the tools of its image. */
export function tableProber(
  f: Fixture,
  options: { attempts?: number; intervalMs?: number; onTable?: (table: NetcheckTable) => void } = {},
): (spec: TableSpec) => Promise<NetcheckTable> {
  return async (spec) => {
    const table = await runTable(spec, {
      exec: kubectlExec(f.kubectl, f.namespace),
      tools: f.server.tools,
      ...(options.attempts ? { attempts: options.attempts } : {}),
      ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
      ...(f.signal ? { signal: f.signal } : {}),
    });
    options.onTable?.(table);
    return table;
  };
}

/**
 * Creates the namespace and a server pod on every node (control plane included), and unless
 * `hostNetwork` is false a hostNetwork server pod on every node too; reads their addresses and
 * names. The image must already be on the nodes (nothing can be pulled).
 */
export async function deployFixture(
  kubectl: Kubectl,
  options: { server: ServerImage; namespace: string; hostNetwork?: boolean; family?: 'ipv4' | 'ipv6'; signal?: AbortSignal },
): Promise<Fixture> {
  const { server, family } = options;
  const hostNetwork = options.hostNetwork ?? true;
  const nodes = (await nodeAddresses(kubectl)).map((n) => ({ name: n.name, ip: (family ? n.ips.find((ip) => ofFamily(ip, family)) : undefined) ?? n.ip }));
  await kubectl(['apply', '-f', '-'], yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace, labels: { 'local-cluster.dev/netcheck': 'true' } } }));
  const f: Fixture = { kubectl, namespace: options.namespace, server, image: server.image, nodes, servers: new Map(), hostServers: new Map(), ...(family ? { family } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  const pods: object[] = [];
  nodes.forEach((n, i) => {
    pods.push(server.pod(`srv-${i}`, n.name, { labels: { app: APP, 'netcheck-node': `n${i}`, 'netcheck-dns': 'true' } }));
    if (hostNetwork) pods.push(server.pod(`hostnet-${i}`, n.name, { hostNetwork: true, labels: { 'netcheck-hostnet': 'true' } }));
  });
  await apply(f, pods);
  await waitPodsReady(f, hostNetwork ? 'netcheck-role in (server,hostnet)' : 'netcheck-role=server');
  const listed = JSON.parse(await kubectl(['-n', f.namespace, 'get', 'pods', '-o', 'json'])) as { items: { metadata: { name: string }; status: { podIP?: string; podIPs?: { ip: string }[] } }[] };
  const hostnames = new Map<string, string>();
  if (hostNetwork) {
    await Promise.all(
      nodes.map(async (_, i) => {
        hostnames.set(`hostnet-${i}`, (await kubectl(['-n', f.namespace, 'exec', `hostnet-${i}`, '--', server.tools.shell, '-c', 'echo $HOSTNAME'])).trim());
      }),
    );
  }
  nodes.forEach((n, i) => {
    const ip = (pod: string) => {
      const status = listed.items.find((p) => p.metadata.name === pod)?.status;
      return (family ? status?.podIPs?.map((p) => p.ip).find((a) => ofFamily(a, family)) : undefined) ?? status?.podIP ?? '';
    };
    f.servers.set(n.name, { node: n.name, pod: `srv-${i}`, ip: ip(`srv-${i}`), hostname: `srv-${i}` });
    if (hostNetwork) f.hostServers.set(n.name, { node: n.name, pod: `hostnet-${i}`, ip: ip(`hostnet-${i}`), hostname: hostnames.get(`hostnet-${i}`) ?? n.name });
  });
  return f;
}

/** Removes the fixture's namespace (and so everything in it), without waiting. */
export async function removeFixture(f: Fixture): Promise<void> {
  await f.kubectl(['delete', 'namespace', f.namespace, '--wait=false']);
}
