import {
  addressRecord,
  answeredBy,
  APP,
  apply,
  CLOSED_PORT,
  clusterIp,
  dnsName,
  type Fixture,
  grid,
  hasAddress,
  HOST_SOURCE,
  ofFamily,
  HOSTNET_CLOSED_PORT,
  HOSTNET_HTTP_PORT,
  hostnetSources,
  HTTP_PORT,
  type NetcheckTable,
  netexecPod,
  podIp,
  podSources,
  service,
  type Source,
  type TableSpec,
  UDP_PORT,
  unusedPodAddress,
  waitEndpoints,
  waitPodsReady,
  WEB_PORTS,
} from '../reachability/index.js';
import { nthAddress, parseCidr, waitFor } from '@local-cluster/core';
import { gatewayCase, ingressCase } from './ingress-cases.js';

/** One case: the fixtures it adds and the tables it probes (in order; a case may change things between tables). */
export interface NetcheckCase {
  name: string;
  description: string;
  /** Nodes the case needs to mean anything (e.g. cross-node pairs); fewer: skipped, with the reason. */
  minNodes?: number;
  run(f: Fixture, probe: (spec: TableSpec) => Promise<NetcheckTable>): Promise<NetcheckTable[] | { skipped: string }>;
}

const servers = (f: Fixture) => [...f.servers.values()];
const serverNames = (f: Fixture) => servers(f).map((s) => s.hostname);

const podToPod: NetcheckCase = {
  name: 'pod-to-pod',
  description: 'pod to pod by IP across every node pair, TCP and UDP',
  minNodes: 2,
  async run(f, probe) {
    const first = servers(f)[0]!;
    const unused = await unusedPodAddress(f.kubectl, f.family);
    const tcp = await probe({
      name: 'pod-to-pod/tcp',
      description: `every pod reaches every pod on TCP ${HTTP_PORT}; a closed port and an address of the pod range no pod has answer nothing`,
      cells: grid(podSources(f), [
        ...servers(f).map((s) => ({ target: `pod@${s.node}`, probe: { kind: 'http' as const, host: s.ip, port: HTTP_PORT }, expect: true, accept: answeredBy([s.hostname]) })),
        { target: `pod@${first.node}:${CLOSED_PORT} (closed)`, probe: { kind: 'http', host: first.ip, port: CLOSED_PORT }, expect: false },
        ...(unused ? [{ target: `${unused}:80 (no pod)`, probe: { kind: 'http' as const, host: unused, port: 80 }, expect: false }] : []),
      ]),
    });
    const udp = await probe({
      name: 'pod-to-pod/udp',
      description: `every pod reaches every pod on UDP ${UDP_PORT}; a closed UDP port answers nothing`,
      cells: grid(podSources(f), [
        ...servers(f).map((s) => ({ target: `pod@${s.node}/udp`, probe: { kind: 'udp' as const, host: s.ip, port: UDP_PORT }, expect: true, accept: answeredBy([s.hostname]) })),
        { target: `pod@${first.node}:${CLOSED_PORT}/udp (closed)`, probe: { kind: 'udp', host: first.ip, port: CLOSED_PORT }, expect: false },
      ]),
    });
    return [tcp, udp];
  },
};

const clusterIpCase: NetcheckCase = {
  name: 'clusterip',
  description: 'ClusterIP by address and DNS name, TCP and UDP; an empty selector and a removed port answer nothing',
  async run(f, probe) {
    await apply(f, [
      service('web', { selector: { app: APP }, ports: WEB_PORTS }),
      service('empty', { selector: { app: 'nothing-has-this-label' }, ports: WEB_PORTS }),
      service('shrink', { selector: { app: APP }, ports: [WEB_PORTS[0], { name: 'extra', port: 81, targetPort: HTTP_PORT, protocol: 'TCP' }] }),
    ]);
    await waitEndpoints(f, 'web', f.servers.size);
    await waitEndpoints(f, 'shrink', f.servers.size);
    const [web, empty, shrink] = await Promise.all(['web', 'empty', 'shrink'].map((s) => clusterIp(f, s)));
    const backends = answeredBy(serverNames(f));
    const sources = [...podSources(f), ...hostnetSources(f)];
    const tcp = await probe({
      name: 'clusterip/tcp',
      description: 'a ClusterIP Service answers by IP and DNS name from every pod and hostNetwork pod; one whose selector matches nothing does not',
      cells: grid(sources, [
        { target: `web ${web}:80`, probe: { kind: 'http', host: web!, port: 80 }, expect: true, accept: backends },
        { target: `web (DNS):80`, probe: { kind: 'http', host: dnsName(f, 'web'), port: 80 }, expect: true, accept: backends },
        { target: `empty ${empty}:80 (no endpoints)`, probe: { kind: 'http', host: empty!, port: 80 }, expect: false },
      ]),
    });
    const udp = await probe({
      name: 'clusterip/udp',
      description: 'the same over UDP',
      cells: grid(sources, [
        { target: `web ${web}:${UDP_PORT}/udp`, probe: { kind: 'udp', host: web!, port: UDP_PORT }, expect: true, accept: backends },
        { target: `web (DNS):${UDP_PORT}/udp`, probe: { kind: 'udp', host: dnsName(f, 'web'), port: UDP_PORT }, expect: true, accept: backends },
        { target: `empty ${empty}:${UDP_PORT}/udp (no endpoints)`, probe: { kind: 'udp', host: empty!, port: UDP_PORT }, expect: false },
      ]),
    });
    const before = await probe({
      name: 'clusterip/port-before-removal',
      description: 'port 81 of Service shrink answers while the Service has it',
      cells: grid(sources, [{ target: `shrink ${shrink}:81`, probe: { kind: 'http', host: shrink!, port: 81 }, expect: true, accept: backends }]),
    });
    await f.kubectl(['-n', f.namespace, 'patch', 'service', 'shrink', '--type=json', '-p', '[{"op":"remove","path":"/spec/ports/1"}]']);
    const after = await probe({
      name: 'clusterip/port-removed',
      description: 'once the port is removed from the Service it answers nothing (the packet must not leave the nodes), while port 80 still answers',
      cells: grid(sources, [
        { target: `shrink ${shrink}:81 (removed)`, probe: { kind: 'http', host: shrink!, port: 81 }, expect: false },
        { target: `shrink ${shrink}:80`, probe: { kind: 'http', host: shrink!, port: 80 }, expect: true, accept: backends },
      ]),
    });
    return [tcp, udp, before, after];
  },
};

const headless: NetcheckCase = {
  name: 'headless',
  description: 'a headless Service has an A record for every ready pod and none for an unready one',
  async run(f, probe) {
    const node = f.nodes[f.nodes.length - 1]!.name;
    await apply(f, [
      // ready never: its readiness probe asks a port nothing listens on
      netexecPod('unready', node, f.image, { labels: { 'netcheck-dns': 'true', 'netcheck-unready': 'true' }, readinessPort: CLOSED_PORT }),
      service('headless', { clusterIP: 'None', selector: { 'netcheck-dns': 'true' }, ports: [WEB_PORTS[0]] }),
      service('headless-empty', { clusterIP: 'None', selector: { app: 'nothing-has-this-label' }, ports: [WEB_PORTS[0]] }),
    ]);
    const unready = await podIp(f, 'unready');
    await waitEndpoints(f, 'headless', f.servers.size);
    const name = dnsName(f, 'headless');
    const has = (ip: string) => (answer: string) => answer.split(/\s+/).includes(ip);
    const record = addressRecord(f);
    const table = await probe({
      name: 'headless/dns',
      description: `${addressRecord(f)} records of ${name}: one per ready pod, none for the unready pod; a headless Service without endpoints has none`,
      cells: grid(
        [...podSources(f), ...hostnetSources(f)],
        [
          ...servers(f).map((s) => ({ target: `${record} ${s.ip} (pod@${s.node}, ready)`, probe: { kind: 'dns' as const, name, type: record }, expect: true, accept: has(s.ip) })),
          { target: `${record} ${unready} (unready pod)`, probe: { kind: 'dns', name, type: record }, expect: false, accept: has(unready) },
          { target: `headless-empty: any ${record} record`, probe: { kind: 'dns', name: dnsName(f, 'headless-empty'), type: record }, expect: false, accept: hasAddress(f) },
        ],
      ),
    });
    return [table];
  },
};

const nodePort: NetcheckCase = {
  name: 'nodeport',
  description: 'NodePort on every node from pods, hostNetwork pods and the host; externalTrafficPolicy Local only where an endpoint is',
  async run(f, probe) {
    const local = f.nodes[f.nodes.length - 1]!;
    const localIndex = f.nodes.length - 1;
    await apply(f, [
      service('web-np', { type: 'NodePort', selector: { app: APP }, ports: [WEB_PORTS[0]] }),
      service('local-np', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: APP, 'netcheck-node': `n${localIndex}` }, ports: [WEB_PORTS[0]] }),
    ]);
    await waitEndpoints(f, 'web-np', f.servers.size);
    await waitEndpoints(f, 'local-np', 1);
    const port = async (s: string) => Number((await f.kubectl(['-n', f.namespace, 'get', 'service', s, '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim());
    const [webPort, localPort] = await Promise.all([port('web-np'), port('local-np')]);
    const backends = answeredBy(serverNames(f));
    const localBackend = answeredBy([f.servers.get(local.name)!.hostname]);
    const sources: Source[] = [...podSources(f), ...hostnetSources(f), HOST_SOURCE];
    // kube-proxy treats traffic from the node itself and from its own pods as cluster traffic
    // (any endpoint); traffic from elsewhere, including pods of other nodes (their CNI
    // masquerades them to their node's address), honours Local: only where an endpoint is
    const localAnswers = (node: string) => (source: Source) => node === local.name || source.name === `pod@${node}` || source.name === `hostnet@${node}`;
    const unallocated = webPort === 32767 ? 32766 : 32767;
    const table = await probe({
      name: 'nodeport/tcp',
      description: `NodePort ${webPort} answers on every node; Local NodePort ${localPort} (endpoint on ${local.name} only) answers only there and on the source's own node; an unallocated NodePort answers nothing`,
      cells: grid(sources, [
        ...f.nodes.map((n) => ({ target: `${n.name} ${n.ip}:${webPort}`, probe: { kind: 'http' as const, host: n.ip, port: webPort }, expect: true, accept: backends })),
        ...f.nodes.map((n) => ({ target: `Local ${n.name}:${localPort}`, probe: { kind: 'http' as const, host: n.ip, port: localPort }, expect: localAnswers(n.name), accept: localBackend })),
        { target: `${f.nodes[0]!.name}:${unallocated} (unallocated)`, probe: { kind: 'http', host: f.nodes[0]!.ip, port: unallocated }, expect: false },
      ]),
    });
    return [table];
  },
};

/** An address of the cluster's MetalLB pools that no Service has, for the negative control. */
async function unassignedPoolAddress(f: Fixture, assigned: readonly string[]): Promise<string | undefined> {
  const pools = await f.kubectl(['get', 'ipaddresspools.metallb.io', '-A', '-o', 'jsonpath={.items[*].spec.addresses[*]}']).catch(() => '');
  for (const range of pools.split(/\s+/).filter(Boolean).filter((r) => !f.family || ofFamily(r, f.family)).reverse()) {
    const last = range.includes('-') ? range.split('-')[1]!.trim() : (() => {
      const c = parseCidr(range);
      return c ? nthAddress(range, 2 ** (32 - c.prefix) - 1) : undefined;
    })();
    if (last && !assigned.includes(last)) return last;
  }
  return undefined;
}

const loadBalancer: NetcheckCase = {
  name: 'loadbalancer',
  description: 'a LoadBalancer Service gets an address that answers from the host and from pods; an unassigned pool address does not',
  async run(f, probe) {
    await apply(f, [service('web-lb', { type: 'LoadBalancer', selector: { app: APP }, ports: [WEB_PORTS[0]] })]);
    const implemented = (await f.kubectl(['get', 'namespace', 'metallb-system', '-o', 'name']).catch(() => '')).trim() !== '';
    const ip = await waitFor(
      'an address for LoadBalancer Service web-lb',
      async () => (await f.kubectl(['-n', f.namespace, 'get', 'service', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim() || undefined,
      { timeoutMs: implemented ? 60_000 : 10_000, ...(f.signal ? { signal: f.signal } : {}) },
    ).catch(() => undefined);
    if (!ip) {
      return {
        skipped: implemented
          ? 'MetalLB is installed but gave Service web-lb no address in 60 s (see `kubectl -n metallb-system logs deploy/controller`)'
          : 'no LoadBalancer implementation gave Service web-lb an address: add the metallb addon (cluster.addons, e.g. --addons storage,metrics-server,dashboard,metallb)',
      };
    }
    await waitEndpoints(f, 'web-lb', f.servers.size);
    const spare = await unassignedPoolAddress(f, [ip]);
    const table = await probe({
      name: 'loadbalancer/tcp',
      description: `LoadBalancer address ${ip}:80 answers from the host, pods and hostNetwork pods${spare ? `; ${spare} (in the pool, unassigned) answers nothing` : ''}`,
      cells: grid([...podSources(f), ...hostnetSources(f), HOST_SOURCE], [
        { target: `web-lb ${ip}:80`, probe: { kind: 'http', host: ip, port: 80 }, expect: true, accept: answeredBy(serverNames(f)) },
        ...(spare ? [{ target: `${spare}:80 (unassigned)`, probe: { kind: 'http' as const, host: spare, port: 80 }, expect: false }] : []),
      ]),
    });
    return [table];
  },
};

const externalName: NetcheckCase = {
  name: 'externalname',
  description: 'an ExternalName Service is a CNAME to its target; one pointing at a name that does not exist resolves to nothing',
  async run(f, probe) {
    const target = dnsName(f, 'web');
    await apply(f, [
      service('web', { selector: { app: APP }, ports: WEB_PORTS }),
      service('alias', { type: 'ExternalName', externalName: target }),
      service('dangling', { type: 'ExternalName', externalName: dnsName(f, 'no-such-service') }),
    ]);
    await waitEndpoints(f, 'web', f.servers.size);
    const table = await probe({
      name: 'externalname/dns',
      description: `alias is a CNAME to ${target} and answers HTTP through it; dangling resolves to no address`,
      cells: grid(
        [...podSources(f), ...hostnetSources(f)],
        [
          { target: `alias CNAME ${target}`, probe: { kind: 'dns', name: dnsName(f, 'alias'), type: 'CNAME' }, expect: true, accept: (a) => a.split(/\s+/).includes(`${target}.`) },
          { target: 'alias:80 (HTTP)', probe: { kind: 'http', host: dnsName(f, 'alias'), port: 80 }, expect: true, accept: answeredBy(serverNames(f)) },
          { target: `dangling: an ${addressRecord(f)} record`, probe: { kind: 'dns', name: dnsName(f, 'dangling'), type: addressRecord(f) }, expect: false, accept: hasAddress(f) },
        ],
      ),
    });
    return [table];
  },
};

const hairpin: NetcheckCase = {
  name: 'hairpin',
  description: "every pod reaches every pod through that pod's own Service, itself included (hairpin)",
  async run(f, probe) {
    const list = servers(f);
    await apply(f, [
      ...list.map((_, i) => service(`self-${i}`, { selector: { app: APP, 'netcheck-node': `n${i}` }, ports: [WEB_PORTS[0]] })),
      service('self-closed', { selector: { app: APP, 'netcheck-node': 'n0' }, ports: [{ port: 80, targetPort: CLOSED_PORT, protocol: 'TCP' }] }),
    ]);
    await Promise.all(list.map((_, i) => waitEndpoints(f, `self-${i}`, 1)));
    const ips = await Promise.all(list.map((_, i) => clusterIp(f, `self-${i}`)));
    const closed = await clusterIp(f, 'self-closed');
    const table = await probe({
      name: 'hairpin/tcp',
      description: 'the Service of each single pod answers with that pod, from every pod (the diagonal is the hairpin); a Service whose target port is closed answers nothing',
      cells: grid(podSources(f), [
        ...list.map((s, i) => ({ target: `self-${i} (pod@${s.node})`, probe: { kind: 'http' as const, host: ips[i]!, port: 80 }, expect: true, accept: answeredBy([s.hostname]) })),
        { target: 'self-closed (target port closed)', probe: { kind: 'http', host: closed, port: 80 }, expect: false },
      ]),
    });
    return [table];
  },
};

const affinity: NetcheckCase = {
  name: 'affinity',
  description: 'sessionAffinity ClientIP keeps a client on one backend; without it requests spread',
  minNodes: 2,
  async run(f, probe) {
    await apply(f, [
      service('web', { selector: { app: APP }, ports: WEB_PORTS }),
      service('sticky', { selector: { app: APP }, sessionAffinity: 'ClientIP', ports: WEB_PORTS }),
    ]);
    await waitEndpoints(f, 'web', f.servers.size);
    await waitEndpoints(f, 'sticky', f.servers.size);
    const [web, sticky] = await Promise.all([clusterIp(f, 'web'), clusterIp(f, 'sticky')]);
    const valid = answeredBy(serverNames(f));
    const distinct = (a: string) => new Set(a.split(/\s+/).filter(Boolean)).size;
    const table = await probe({
      name: 'affinity/tcp',
      description: '10 requests to sticky (ClientIP) land on one backend; 20 requests to web (no affinity) do not (they spread)',
      cells: grid(
        [...podSources(f), ...hostnetSources(f)],
        [
          { target: 'sticky: 10 requests, one backend', probe: { kind: 'http', host: sticky!, port: 80, count: 10 }, expect: true, accept: (a) => valid(a) && distinct(a) === 1 },
          // the control: without affinity the same client is not kept on one backend
          { target: 'web (no affinity): 20 requests, one backend', probe: { kind: 'http', host: web!, port: 80, count: 20 }, expect: false, accept: (a) => valid(a) && distinct(a) === 1 },
        ],
      ),
    });
    return [table];
  },
};

const hostNetwork: NetcheckCase = {
  name: 'hostnetwork',
  description: 'hostNetwork pods as targets, directly and behind a Service, from pods and hostNetwork pods',
  async run(f, probe) {
    await apply(f, [service('hostnet', { selector: { 'netcheck-hostnet': 'true' }, ports: [{ port: 80, targetPort: HOSTNET_HTTP_PORT, protocol: 'TCP' }] })]);
    await waitEndpoints(f, 'hostnet', f.hostServers.size);
    const ip = await clusterIp(f, 'hostnet');
    const hostnets = [...f.hostServers.values()];
    const first = f.nodes[0]!;
    const table = await probe({
      name: 'hostnetwork/tcp',
      description: `the hostNetwork server on every node answers on ${HOSTNET_HTTP_PORT} and through Service hostnet; a closed port of a node answers nothing`,
      cells: grid(
        [...podSources(f), ...hostnetSources(f)],
        [
          ...hostnets.map((s) => ({ target: `hostnet@${s.node} ${s.ip}:${HOSTNET_HTTP_PORT}`, probe: { kind: 'http' as const, host: s.ip, port: HOSTNET_HTTP_PORT }, expect: true, accept: answeredBy([s.hostname]) })),
          { target: `hostnet ${ip}:80 (Service)`, probe: { kind: 'http', host: ip, port: 80 }, expect: true, accept: answeredBy(hostnets.map((s) => s.hostname)) },
          { target: `${first.name}:${HOSTNET_CLOSED_PORT} (closed)`, probe: { kind: 'http', host: first.ip, port: HOSTNET_CLOSED_PORT }, expect: false },
        ],
      ),
    });
    return [table];
  },
};

/** The UDP flows' fixed source port: the same 5-tuple before and after the backend changes (what conntrack keys on). */
const STALE_SOURCE_PORT = 40123;

const udpStale: NetcheckCase = {
  name: 'udp-stale',
  description: "UDP to a Service reaches a replaced backend within a bounded time on the same flow (stale conntrack entries are flushed)",
  async run(f, probe) {
    const nodes = f.nodes;
    const before = nodes[nodes.length - 1]!.name;
    const after = nodes[0]!.name;
    await apply(f, [
      netexecPod('stale-a', before, f.image, { labels: { 'netcheck-stale': 'true' } }),
      service('stale', { selector: { 'netcheck-stale': 'true' }, ports: [WEB_PORTS[1]] }),
    ]);
    await waitPodsReady(f, 'netcheck-stale=true');
    await waitEndpoints(f, 'stale', 1);
    const ip = await clusterIp(f, 'stale');
    const flow = { kind: 'udp' as const, host: ip, port: UDP_PORT, sourcePort: STALE_SOURCE_PORT };
    const sources = podSources(f);
    const first = await probe({
      name: 'udp-stale/before',
      description: `a UDP flow from source port ${STALE_SOURCE_PORT} to Service stale reaches stale-a (on ${before})`,
      cells: grid(sources, [{ target: 'stale: answered by stale-a', probe: flow, expect: true, accept: answeredBy(['stale-a']) }]),
    });
    await f.kubectl(['-n', f.namespace, 'delete', 'pod', 'stale-a', '--grace-period=0', '--force', '--wait=true']);
    await waitEndpoints(f, 'stale', 0);
    const gap = await probe({
      name: 'udp-stale/no-endpoints',
      description: 'with its only backend gone, the same flow gets no answer',
      cells: grid(sources, [{ target: 'stale: any answer', probe: flow, expect: false }]),
    });
    await apply(f, [netexecPod('stale-b', after, f.image, { labels: { 'netcheck-stale': 'true' } })]);
    await waitPodsReady(f, 'netcheck-stale=true');
    await waitEndpoints(f, 'stale', 1);
    const replaced = await probe({
      name: 'udp-stale/after',
      description: `the same flow reaches the new backend stale-b (on ${after}) within the probe rounds (about 15 s)`,
      cells: grid(sources, [{ target: 'stale: answered by stale-b', probe: flow, expect: true, accept: answeredBy(['stale-b']) }]),
    });
    return [first, gap, replaced];
  },
};

const terminating: NetcheckCase = {
  name: 'terminating',
  description: 'a backend in graceful termination gets no new connections through its Service, though it still answers directly',
  async run(f, probe) {
    const nodes = f.nodes;
    await apply(f, [
      netexecPod('term-a', nodes[0]!.name, f.image, { labels: { 'netcheck-term': 'true' } }),
      // keeps serving for 60 s after SIGTERM
      netexecPod('term-b', nodes[nodes.length - 1]!.name, f.image, { labels: { 'netcheck-term': 'true' }, args: ['--delay-shutdown=60'], gracePeriod: 90 }),
      service('term', { selector: { 'netcheck-term': 'true' }, ports: [WEB_PORTS[0]] }),
    ]);
    await waitPodsReady(f, 'netcheck-term=true');
    await waitEndpoints(f, 'term', 2);
    const ip = await clusterIp(f, 'term');
    const termB = await podIp(f, 'term-b');
    const reachesB = (a: string) => answeredBy(['term-a', 'term-b'])(a) && a.split(/\s+/).includes('term-b');
    const sources = [...podSources(f), ...hostnetSources(f)];
    const before = await probe({
      name: 'terminating/before',
      description: 'before: 20 requests to Service term reach term-b among others',
      cells: grid(sources, [{ target: 'term: term-b among 20 answers', probe: { kind: 'http', host: ip, port: 80, count: 20 }, expect: true, accept: reachesB }]),
    });
    await f.kubectl(['-n', f.namespace, 'delete', 'pod', 'term-b', '--wait=false']);
    await waitEndpoints(f, 'term', 1);
    const during = await probe({
      name: 'terminating/during',
      description: 'while term-b terminates: 20 new requests to Service term never reach it, yet term-b answers by its own IP',
      cells: grid(sources, [
        { target: 'term: term-b among 20 answers', probe: { kind: 'http', host: ip, port: 80, count: 20 }, expect: false, accept: reachesB },
        { target: `term-b ${termB}:${HTTP_PORT} (direct)`, probe: { kind: 'http', host: termB, port: HTTP_PORT }, expect: true, accept: answeredBy(['term-b']) },
      ]),
    });
    await f.kubectl(['-n', f.namespace, 'delete', 'pod', 'term-b', '--grace-period=0', '--force', '--wait=false']).catch(() => '');
    return [before, during];
  },
};

/** Every case, in the order they run. */
export const NETCHECK_CASES: readonly NetcheckCase[] = [podToPod, clusterIpCase, headless, nodePort, loadBalancer, externalName, hairpin, affinity, hostNetwork, udpStale, terminating, ingressCase, gatewayCase];
