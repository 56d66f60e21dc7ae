import yaml from 'js-yaml';
import type { Kubectl } from '@local-cluster/core';
import type { CellSpec, Probe, Source } from './probe.js';
import { nodeAddresses, waitFor } from '@local-cluster/core';

/** The test servers' ports: agnhost netexec answers /hostname over HTTP and `hostname` over UDP. */
export const HTTP_PORT = 8080;
export const UDP_PORT = 8081;
/** On hostNetwork pods (the node's own ports): well away from the kubelet's and NodePorts. */
export const HOSTNET_HTTP_PORT = 18080;
export const HOSTNET_UDP_PORT = 18081;
/** Ports nothing listens on, for negative controls. */
export const CLOSED_PORT = 8090;
export const HOSTNET_CLOSED_PORT = 18090;

export const APP = 'netcheck';

export interface NodeInfo {
  name: string;
  ip: string;
}

export interface Server {
  node: string;
  pod: string;
  ip: string;
  /** What netexec answers /hostname with (the pod's name; the node's hostname on hostNetwork). */
  hostname: string;
}

/** Everything the cases share: one namespace, a server pod and a hostNetwork pod on every node. */
export interface Fixture {
  kubectl: Kubectl;
  namespace: string;
  image: string;
  nodes: NodeInfo[];
  /** Node name -> its netexec pod. */
  servers: Map<string, Server>;
  /** Node name -> its hostNetwork netexec pod. */
  hostServers: Map<string, Server>;
  signal?: AbortSignal;
}

export function podSources(f: Fixture): Source[] {
  return [...f.servers.values()].map((s) => ({ name: `pod@${s.node}`, pod: s.pod }));
}

export function hostnetSources(f: Fixture): Source[] {
  return [...f.hostServers.values()].map((s) => ({ name: `hostnet@${s.node}`, pod: s.pod }));
}

export const HOST_SOURCE: Source = { name: 'host', host: true };

/** A netexec pod pinned to one node by name (spread by node name, not by the scheduler's luck). */
export function netexecPod(
  name: string,
  node: string,
  image: string,
  options: { labels?: Record<string, string>; hostNetwork?: boolean; args?: string[]; readinessPort?: number; gracePeriod?: number } = {},
): object {
  const http = options.hostNetwork ? HOSTNET_HTTP_PORT : HTTP_PORT;
  const udp = options.hostNetwork ? HOSTNET_UDP_PORT : UDP_PORT;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'netcheck-role': options.hostNetwork ? 'hostnet' : 'server', ...options.labels } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [{ operator: 'Exists' }],
      terminationGracePeriodSeconds: options.gracePeriod ?? 0,
      ...(options.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
      containers: [
        {
          name: 'netexec',
          image,
          imagePullPolicy: 'Never',
          args: ['netexec', `--http-port=${http}`, `--udp-port=${udp}`, ...(options.args ?? [])],
          ports: [
            { containerPort: http, protocol: 'TCP' },
            { containerPort: udp, protocol: 'UDP' },
          ],
          readinessProbe: { tcpSocket: { port: options.readinessPort ?? http }, periodSeconds: 1 },
        },
      ],
    },
  };
}

export function service(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

/** Ports of a Service over netexec pods: HTTP 80 -> 8080/TCP, 8081/UDP. */
export const WEB_PORTS = [
  { name: 'http', port: 80, targetPort: HTTP_PORT, protocol: 'TCP' },
  { name: 'udp', port: UDP_PORT, targetPort: UDP_PORT, protocol: 'UDP' },
];

export async function apply(f: Fixture, objects: readonly object[]): Promise<void> {
  await f.kubectl(['-n', f.namespace, 'apply', '-f', '-'], objects.map((o) => yaml.dump(o)).join('---\n'));
}

export async function waitPodsReady(f: Fixture, selector: string, timeoutSeconds = 180): Promise<void> {
  await f.kubectl(['-n', f.namespace, 'wait', '--for=condition=Ready', 'pod', '-l', selector, `--timeout=${timeoutSeconds}s`]);
}

export async function podIp(f: Fixture, pod: string): Promise<string> {
  return waitFor(`the IP of pod ${pod}`, async () => (await f.kubectl(['-n', f.namespace, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIP}'])).trim() || undefined, {
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

/** Accepts answers that are one of these backends' names (every line, for multi-request probes). */
export function answeredBy(names: readonly string[]): (answer: string) => boolean {
  const known = new Set(names);
  return (answer) => {
    const words = answer.split(/\s+/).filter(Boolean);
    return words.length > 0 && words.every((w) => known.has(w));
  };
}

/** Cells from every source to every target. */
export function grid(
  sources: readonly Source[],
  targets: readonly { target: string; probe: Probe; expect: boolean | ((source: Source) => boolean); accept?: (answer: string) => boolean }[],
): CellSpec[] {
  return sources.flatMap((source) =>
    targets.map((t) => ({
      source,
      target: t.target,
      probe: t.probe,
      expect: typeof t.expect === 'function' ? t.expect(source) : t.expect,
      ...(t.accept ? { accept: t.accept } : {}),
    })),
  );
}

/** Creates the namespace, a netexec pod and a hostNetwork netexec pod on every node; reads their addresses and names. */
export async function deployFixture(
  kubectl: Kubectl,
  options: { image: string; namespace: string; signal?: AbortSignal },
): Promise<Fixture> {
  const nodes = await nodeAddresses(kubectl);
  await kubectl(['apply', '-f', '-'], yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace, labels: { 'local-cluster.dev/netcheck': 'true' } } }));
  const f: Fixture = { kubectl, namespace: options.namespace, image: options.image, nodes, servers: new Map(), hostServers: new Map(), ...(options.signal ? { signal: options.signal } : {}) };
  const pods: object[] = [];
  nodes.forEach((n, i) => {
    pods.push(netexecPod(`srv-${i}`, n.name, options.image, { labels: { app: APP, 'netcheck-node': `n${i}`, 'netcheck-dns': 'true' } }));
    pods.push(netexecPod(`hostnet-${i}`, n.name, options.image, { hostNetwork: true, labels: { 'netcheck-hostnet': 'true' } }));
  });
  await apply(f, pods);
  await waitPodsReady(f, 'netcheck-role in (server,hostnet)');
  const listed = JSON.parse(await kubectl(['-n', f.namespace, 'get', 'pods', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { nodeName: string }; status: { podIP?: string } }[] };
  const hostnames = new Map<string, string>();
  await Promise.all(
    nodes.map(async (_, i) => {
      hostnames.set(`hostnet-${i}`, (await kubectl(['-n', f.namespace, 'exec', `hostnet-${i}`, '--', 'bash', '-c', 'echo $HOSTNAME'])).trim());
    }),
  );
  nodes.forEach((n, i) => {
    const ip = (pod: string) => listed.items.find((p) => p.metadata.name === pod)?.status.podIP ?? '';
    f.servers.set(n.name, { node: n.name, pod: `srv-${i}`, ip: ip(`srv-${i}`), hostname: `srv-${i}` });
    f.hostServers.set(n.name, { node: n.name, pod: `hostnet-${i}`, ip: ip(`hostnet-${i}`), hostname: hostnames.get(`hostnet-${i}`) ?? n.name });
  });
  return f;
}
