import { type Kubectl, NODE_CONTRACT } from '@local-cluster/core';
import {
  answeredBy,
  APP,
  apply,
  clusterIp,
  deployFixture,
  describeMismatch,
  type Fixture,
  grid,
  HTTP_PORT,
  mismatches,
  type NetcheckCell,
  podSources,
  removeFixture,
  type Server,
  service,
  tableProber,
  type TableSpec,
  toolboxServer,
  unusedPodAddress,
  waitEndpoints,
} from '../reachability/index.js';

/**
 * The quick checks' pod network, on the reachability engine netcheck runs on: a toolbox web
 * server on every node (control plane included) and Services over them.
 */
export interface NetworkProbe extends Fixture {
  /** Node name -> its server pod (= servers). */
  pods: Map<string, Server>;
  serviceIp: string;
  serviceDns: string;
  /** The NodePort of a second Service over the same pods. */
  nodePort: number;
  /** The ClusterIP of a Service over the same pods that has port 8081 only (nothing on its port 80). */
  otherServiceIp: string;
  /** An address of the cluster's pod range that no pod has, when the range is known. */
  unusedPodIp?: string;
}

/**
 * Deploys the probe: a server pod pinned to every node and three Services over them (ClusterIP
 * `web`, `web-other-port` with port 8081 only, NodePort `web-nodeport`). The image must already
 * be on the nodes (nothing can be pulled) and hold busybox's sh, httpd, wget and timeout.
 */
export async function deployNetworkProbe(kubectl: Kubectl, options: { image: string; namespace?: string; signal?: AbortSignal }): Promise<NetworkProbe> {
  const namespace = options.namespace ?? `lc-netcheck-${Math.random().toString(36).slice(2, 8)}`;
  const f = await deployFixture(kubectl, { server: toolboxServer(options.image), namespace, hostNetwork: false, ...(options.signal ? { signal: options.signal } : {}) });
  const http = { port: 80, targetPort: HTTP_PORT, protocol: 'TCP' };
  await apply(f, [
    service('web', { selector: { app: APP }, ports: [http] }),
    service('web-other-port', { selector: { app: APP }, ports: [{ ...http, port: 8081 }] }),
    service('web-nodeport', { type: 'NodePort', selector: { app: APP }, ports: [http] }),
  ]);
  await Promise.all(['web', 'web-other-port', 'web-nodeport'].map((s) => waitEndpoints(f, s, f.servers.size)));
  const [serviceIp, otherServiceIp] = await Promise.all([clusterIp(f, 'web'), clusterIp(f, 'web-other-port')]);
  const nodePort = Number((await kubectl(['-n', namespace, 'get', 'service', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim());
  const unusedPodIp = await unusedPodAddress(kubectl);
  return { ...f, pods: f.servers, serviceIp: serviceIp!, serviceDns: `web.${namespace}.svc.cluster.local`, nodePort, otherServiceIp: otherServiceIp!, ...(unusedPodIp ? { unusedPodIp } : {}) };
}

const backendsOf = (p: NetworkProbe) => answeredBy([...p.servers.values()].map((s) => s.hostname));

/** Every pod reaches every pod on another node by pod IP, answered by that pod. */
export function podToPodSpec(p: NetworkProbe): TableSpec {
  return {
    name: 'pod-network/pod-to-pod',
    description: `every pod reaches the pod of every other node on TCP ${HTTP_PORT}`,
    cells: grid(
      podSources(p),
      [...p.servers.values()].map((s) => ({
        target: `pod@${s.node}`,
        probe: { kind: 'http' as const, host: s.ip, port: HTTP_PORT },
        expect: (source) => (source.name === `pod@${s.node}` ? undefined : true),
        accept: answeredBy([s.hostname]),
      })),
    ),
  };
}

/** From a pod on every node: the Service by ClusterIP and by its DNS name. */
export function serviceSpec(p: NetworkProbe): TableSpec {
  return {
    name: 'pod-network/clusterip',
    description: 'a ClusterIP Service answers by address and DNS name from every node',
    cells: grid(podSources(p), [
      { target: `service ${p.serviceIp}`, probe: { kind: 'http', host: p.serviceIp, port: 80 }, expect: true, accept: backendsOf(p) },
      { target: `service ${p.serviceDns}`, probe: { kind: 'http', host: p.serviceDns, port: 80 }, expect: true, accept: backendsOf(p) },
    ]),
  };
}

/** From a pod on every node: the NodePort Service on every node's address (traffic stays on the cluster network). */
export function nodePortSpec(p: NetworkProbe): TableSpec {
  return {
    name: 'pod-network/nodeport',
    description: `NodePort ${p.nodePort} answers on every node from every node`,
    cells: grid(
      podSources(p),
      p.nodes.map((n) => ({ target: `NodePort ${p.nodePort} on ${n.name}`, probe: { kind: 'http' as const, host: n.ip, port: p.nodePort }, expect: true, accept: backendsOf(p) })),
    ),
  };
}

/**
 * Negative controls, from a pod on every node: port 80 of a Service that has no port 80, and an
 * address of the pod range no pod has, must not answer. This machine's network answers TCP port
 * 80 for any outside address, so either answering means the packet left the cluster's nodes.
 */
export function leakSpec(p: NetworkProbe): TableSpec {
  return {
    name: 'pod-network/stays-on-the-nodes',
    description: 'a Service port the Service lacks and a pod-range address no pod has answer nothing',
    cells: grid(podSources(p), [
      { target: `port 80 of service ${p.otherServiceIp} (it has 8081 only)`, probe: { kind: 'http', host: p.otherServiceIp, port: 80 }, expect: false },
      ...(p.unusedPodIp ? [{ target: `pod-range address ${p.unusedPodIp} (no pod)`, probe: { kind: 'http' as const, host: p.unusedPodIp, port: 80 }, expect: false }] : []),
    ]),
  };
}

/** Probe rounds: how many, how far apart (default: netcheck's, 6 rounds 2 s apart). */
export interface RoundOptions {
  attempts?: number;
  intervalMs?: number;
}

/** Probes one table from the probe's pods through `kubectl`. */
async function cellsOf(kubectl: Kubectl, p: NetworkProbe, spec: TableSpec, rounds: RoundOptions): Promise<NetcheckCell[]> {
  return (await tableProber({ ...p, kubectl }, rounds)(spec)).cells;
}

export const podToPodTable = (kubectl: Kubectl, p: NetworkProbe, rounds: RoundOptions = {}) => cellsOf(kubectl, p, podToPodSpec(p), rounds);
export const serviceTable = (kubectl: Kubectl, p: NetworkProbe, rounds: RoundOptions = {}) => cellsOf(kubectl, p, serviceSpec(p), rounds);

/** Every table: pod to pod, ClusterIP by address and DNS name, NodePort on every node, and the negative controls. */
export async function podNetworkTables(kubectl: Kubectl, p: NetworkProbe, rounds: RoundOptions = {}): Promise<NetcheckCell[]> {
  const cells: NetcheckCell[] = [];
  for (const spec of [podToPodSpec(p), serviceSpec(p), nodePortSpec(p), leakSpec(p)]) cells.push(...(await cellsOf(kubectl, p, spec, rounds)));
  return cells;
}

export async function removeNetworkProbe(kubectl: Kubectl, p: NetworkProbe): Promise<void> {
  await removeFixture({ ...p, kubectl });
}

/** The mismatched cells, one clause each (empty: every cell as expected). */
export function describeFailures(cells: readonly NetcheckCell[]): string {
  return mismatches(cells).map(describeMismatch).join('; ');
}

/** What runs kubectl against a cluster: a `Cluster` from `up()`, or any function of that shape. */
export interface KubectlTarget {
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<string>;
}

/**
 * The pod-network conformance checks a CNI must pass, against a real cluster:
 * a pod on every node answers a pod on every other node by pod IP, a ClusterIP
 * Service answers by address and DNS name, and a NodePort answers on every
 * node, each from every node; a Service port the Service lacks and an unused
 * pod address answer nothing. Returns every cell and a summary of the
 * mismatched ones (empty: conformant). The probe image must be on every node
 * (the toolbox image every node image preloads).
 */
export async function checkPodNetwork(cluster: KubectlTarget, options: { probeImage?: string; signal?: AbortSignal } = {}): Promise<{ cells: NetcheckCell[]; failures: string }> {
  const kubectl: Kubectl = (args, stdin) => cluster.kubectl(args, stdin === undefined ? {} : { stdin });
  const probe = await deployNetworkProbe(kubectl, { image: options.probeImage ?? NODE_CONTRACT.toolboxImage, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const cells = await podNetworkTables(kubectl, probe);
    return { cells, failures: describeFailures(cells) };
  } finally {
    await removeNetworkProbe(kubectl, probe);
  }
}
