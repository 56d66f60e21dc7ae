import { APP, apply, type CellSpec, type Fixture, HOST_SOURCE, hostnetSources, HTTP_PORT, type NetcheckTable, podSources, type Probe, service, type Source, type TableSpec, waitEndpoints, WEB_PORTS } from '../reachability/index.js';
import type { NetcheckCase } from './cases.js';

/** The ingress addon's names (packages/addons ingress.ts): the class both APIs use, and the Gateway routes attach to. */
const INGRESS_CLASS = 'traefik';
const GATEWAY = { namespace: 'traefik', name: 'traefik' };
/** Where the controller listens in the first control plane's network namespace (published on the host). */
const INGRESS_PORT = 80;

/** One route's targets: host name -> what answers, and the probe path. */
interface Route {
  host: string;
  path: string;
  /** What must answer: a backend's hostname (in the body) or a status code. */
  expect: { backend: string } | { status: number };
  label: string;
}

/**
 * netexec answers /hostname with its pod's name, and /dial?request=hostname&host=127.0.0.1 by
 * asking itself (`{"responses":["<name>"]}`): two paths that both name the backend that got them,
 * so a path rule sending /hostname to one Service and /dial to another is seen from the answers.
 */
const DIAL_SELF = `/dial?request=hostname&host=127.0.0.1&port=${HTTP_PORT}&protocol=http&tries=1`;

const bodyAndStatus = (answer: string) => {
  const m = /^(.*?)\s*HTTP(\d{3})$/.exec(answer.trim());
  return m ? { body: m[1]!, status: Number(m[2]) } : { body: answer, status: 0 };
};

function accept(route: Route): (answer: string) => boolean {
  return (answer) => {
    const { body, status } = bodyAndStatus(answer);
    if ('status' in route.expect) return status === route.expect.status;
    return status === 200 && body.includes(route.expect.backend);
  };
}

/** Cells from every pod, every node (hostNetwork pods) and the host, each route probed by its Host header. */
function routeCells(f: Fixture, controlPlaneIp: string, routes: readonly Route[]): CellSpec[] {
  const hostPort = f.hostPorts?.get(INGRESS_PORT);
  const sources: Source[] = [...podSources(f), ...hostnetSources(f), ...(hostPort ? [HOST_SOURCE] : [])];
  return sources.flatMap((source) =>
    routes.map((r) => {
      const probe: Probe = { kind: 'http', host: 'host' in source ? '127.0.0.1' : controlPlaneIp, port: 'host' in source ? hostPort! : INGRESS_PORT, path: r.path, hostHeader: r.host, status: true };
      return { source, target: r.label, probe, expect: true, accept: accept(r), describe: (a: string) => `answered ${JSON.stringify(a)}` };
    }),
  );
}

interface Backends {
  a: string;
  b: string;
}

/** Services ing-a (the server of the first node), ing-b (of the last) and ing-empty (no endpoints). */
async function backends(f: Fixture): Promise<Backends> {
  const servers = [...f.servers.values()];
  const last = servers.length - 1;
  await apply(f, [
    service('ing-a', { selector: { app: APP, 'netcheck-node': 'n0' }, ports: [WEB_PORTS[0]] }),
    service('ing-b', { selector: { app: APP, 'netcheck-node': `n${last}` }, ports: [WEB_PORTS[0]] }),
    service('ing-empty', { selector: { app: 'nothing-has-this-label' }, ports: [WEB_PORTS[0]] }),
  ]);
  await waitEndpoints(f, 'ing-a', 1);
  await waitEndpoints(f, 'ing-b', 1);
  return { a: servers[0]!.hostname, b: servers[last]!.hostname };
}

/** Whether the ingress addon is there: its class (IngressClass or GatewayClass) exists. */
async function hasClass(f: Fixture, resource: string): Promise<boolean> {
  return (await f.kubectl(['get', resource, INGRESS_CLASS, '-o', 'name']).catch(() => '')).trim() !== '';
}

const NO_ADDON = 'no ingress controller: add the ingress addon (cluster.addons, e.g. --addons ingress)';

/** Host names under the run's namespace, so two runs never share one. */
const names = (f: Fixture, prefix: string) => ({
  a: `a.${prefix}.${f.namespace}.localhost`,
  b: `b.${prefix}.${f.namespace}.localhost`,
  paths: `paths.${prefix}.${f.namespace}.localhost`,
  empty: `empty.${prefix}.${f.namespace}.localhost`,
  gone: `gone.${prefix}.${f.namespace}.localhost`,
  unknown: `unknown.${prefix}.${f.namespace}.localhost`,
});

function routes(n: ReturnType<typeof names>, be: Backends): { main: Route[]; gone: Route; goneAfter: Route } {
  return {
    main: [
      { host: n.a, path: '/hostname', expect: { backend: be.a }, label: 'a -> ing-a' },
      { host: n.b, path: '/hostname', expect: { backend: be.b }, label: 'b -> ing-b' },
      { host: n.paths, path: '/hostname', expect: { backend: be.a }, label: 'paths/hostname -> ing-a' },
      { host: n.paths, path: DIAL_SELF, expect: { backend: be.b }, label: 'paths/dial -> ing-b' },
      { host: n.paths, path: '/nothing', expect: { status: 404 }, label: 'paths/nothing: 404 (unknown path)' },
      { host: n.unknown, path: '/hostname', expect: { status: 404 }, label: 'unknown host: 404' },
      { host: n.empty, path: '/hostname', expect: { status: 503 }, label: 'empty -> ing-empty: 503 (no endpoints)' },
    ],
    gone: { host: n.gone, path: '/hostname', expect: { backend: be.a }, label: 'gone -> ing-a (before removal)' },
    goneAfter: { host: n.gone, path: '/hostname', expect: { status: 404 }, label: 'gone: 404 (route removed)' },
  };
}

async function controlPlaneIp(f: Fixture): Promise<string> {
  const first = f.nodes.find((n) => /^kube-master$/.test(n.name)) ?? f.nodes[0]!;
  return first.ip;
}

function ingressObject(name: string, rules: { host: string; paths: { path: string; service: string }[] }[]): object {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name },
    spec: {
      ingressClassName: INGRESS_CLASS,
      rules: rules.map((r) => ({
        host: r.host,
        http: { paths: r.paths.map((p) => ({ path: p.path, pathType: 'Prefix', backend: { service: { name: p.service, port: { number: 80 } } } })) },
      })),
    },
  };
}

function httpRoute(name: string, hostnames: string[], rules: { path: string; service: string }[]): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name },
    spec: {
      parentRefs: [{ name: GATEWAY.name, namespace: GATEWAY.namespace, sectionName: 'web' }],
      hostnames,
      rules: rules.map((r) => ({ matches: [{ path: { type: 'PathPrefix', value: r.path } }], backendRefs: [{ name: r.service, port: 80 }] })),
    },
  };
}

/** The tables of both cases: routes to the right backend, 404s, a 503, and a removed route. */
async function routeTables(
  f: Fixture,
  probe: (spec: TableSpec) => Promise<NetcheckTable>,
  kind: 'ingress' | 'gateway',
  n: ReturnType<typeof names>,
  be: Backends,
  remove: () => Promise<void>,
): Promise<NetcheckTable[]> {
  const ip = await controlPlaneIp(f);
  const r = routes(n, be);
  const what = kind === 'ingress' ? 'Ingress rules' : 'HTTPRoutes on Gateway traefik/traefik';
  const routing = await probe({
    name: `${kind}/routing`,
    description: `${what} by host and path reach the right backend from every pod, every node and the host (127.0.0.1); an unknown host and an unknown path answer 404, a Service without endpoints 503`,
    cells: routeCells(f, ip, [...r.main, r.gone]),
  });
  await remove();
  const removed = await probe({
    name: `${kind}/removed`,
    description: `once the route for ${n.gone} is deleted it answers 404, while the others still answer`,
    cells: routeCells(f, ip, [r.goneAfter, r.main[0]!]),
  });
  return [routing, removed];
}

export const ingressCase: NetcheckCase = {
  name: 'ingress',
  description: 'Ingress (class traefik) by host and path to the right backend from pods, nodes and the host; unknown host or path 404, no endpoints 503, a removed rule stops answering',
  async run(f, probe) {
    if (!(await hasClass(f, 'ingressclass'))) return { skipped: NO_ADDON };
    const be = await backends(f);
    const n = names(f, 'ing');
    await apply(f, [
      ingressObject('netcheck-routes', [
        { host: n.a, paths: [{ path: '/', service: 'ing-a' }] },
        { host: n.b, paths: [{ path: '/', service: 'ing-b' }] },
        { host: n.paths, paths: [{ path: '/hostname', service: 'ing-a' }, { path: '/dial', service: 'ing-b' }] },
        { host: n.empty, paths: [{ path: '/', service: 'ing-empty' }] },
      ]),
      ingressObject('netcheck-gone', [{ host: n.gone, paths: [{ path: '/', service: 'ing-a' }] }]),
    ]);
    return routeTables(f, probe, 'ingress', n, be, async () => {
      await f.kubectl(['-n', f.namespace, 'delete', 'ingress', 'netcheck-gone', '--wait=true']);
    });
  },
};

export const gatewayCase: NetcheckCase = {
  name: 'gateway',
  description: 'HTTPRoutes on the default Gateway by host and path to the right backend from pods, nodes and the host; unknown host or path 404, no endpoints 503, a removed route stops answering',
  async run(f, probe) {
    if (!(await hasClass(f, 'gatewayclass'))) return { skipped: NO_ADDON };
    const be = await backends(f);
    const n = names(f, 'gw');
    await apply(f, [
      httpRoute('netcheck-a', [n.a], [{ path: '/', service: 'ing-a' }]),
      httpRoute('netcheck-b', [n.b], [{ path: '/', service: 'ing-b' }]),
      httpRoute('netcheck-paths', [n.paths], [{ path: '/hostname', service: 'ing-a' }, { path: '/dial', service: 'ing-b' }]),
      httpRoute('netcheck-empty', [n.empty], [{ path: '/', service: 'ing-empty' }]),
      httpRoute('netcheck-gone', [n.gone], [{ path: '/', service: 'ing-a' }]),
    ]);
    return routeTables(f, probe, 'gateway', n, be, async () => {
      await f.kubectl(['-n', f.namespace, 'delete', 'httproute', 'netcheck-gone', '--wait=true']);
    });
  },
};
