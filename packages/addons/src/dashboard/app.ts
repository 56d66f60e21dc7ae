/**
 * The dashboard's page: Preact + htm (small, well kept, no JSX build step), bundled into one
 * script. Every request is relative (`k8s/...`), so the page works behind `kubectl proxy`'s
 * service path. Views are hash routes: #/ overview and nodes, #/pods, #/workloads,
 * #/services, #/events, #/namespaces, #/logs/NS/POD[/CONTAINER], #/local-cluster.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { CHECKS_CONFIGMAP, INFO_CONFIGMAP } from './paths.js';
import { cpu, memory, share } from './quantity.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

async function get(path: string): Promise<Obj> {
  const response = await fetch(`k8s${path}`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response.json();
}

/** Loads paths and reloads them every few seconds; returns [data, error]. */
function useApi(paths: string[], everyMs = 5000): [Obj[] | undefined, string | undefined] {
  const [data, setData] = useState<Obj[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const key = paths.join('|');
  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all(paths.map((p) => get(p).catch((e: Error) => (p.includes('optional=1') ? undefined : Promise.reject(e)))))
        .then((d) => live && (setData(d), setError(undefined)))
        .catch((e: Error) => live && setError(e.message));
    void load();
    const timer = setInterval(load, everyMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [key]);
  return [data, error];
}

function age(timestamp?: string): string {
  if (!timestamp) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

const Table = ({ head, rows, id }: { head: string[]; rows: unknown[][]; id?: string }) => html`
  <table id=${id}>
    <thead><tr>${head.map((c) => html`<th>${c}</th>`)}</tr></thead>
    <tbody>${rows.length ? rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`) : html`<tr><td colspan=${head.length} class="muted">none</td></tr>`}</tbody>
  </table>
`;

const Status = ({ ok, text }: { ok: boolean | undefined; text: string }) => html`<span class=${ok ? 'ok' : ok === false ? 'bad' : 'warn'}>${text}</span>`;

function Loading({ error }: { error?: string }) {
  return error ? html`<p class="bad">${error}</p>` : html`<p class="muted">loading…</p>`;
}

function Nodes() {
  const [data, error] = useApi(['/api/v1/nodes', '/apis/metrics.k8s.io/v1beta1/nodes?optional=1']);
  if (!data) return html`<${Loading} error=${error} />`;
  const [nodes, metrics] = data;
  const usage = new Map<string, Obj>((metrics?.items ?? []).map((m: Obj) => [m.metadata.name, m.usage]));
  const rows = nodes.items.map((n: Obj) => {
    const ready = n.status.conditions?.find((c: Obj) => c.type === 'Ready');
    const problems = (n.status.conditions ?? []).filter((c: Obj) => c.type !== 'Ready' && c.status === 'True').map((c: Obj) => c.type);
    const roles = Object.keys(n.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.split('/')[1]);
    const ip = n.status.addresses?.find((a: Obj) => a.type === 'InternalIP')?.address;
    const u = usage.get(n.metadata.name);
    return [
      html`<span class="node-name">${n.metadata.name}</span>`,
      html`<${Status} ok=${ready?.status === 'True'} text=${ready?.status === 'True' ? 'Ready' : 'NotReady'} />`,
      roles.join(', ') || '-',
      n.status.nodeInfo?.kubeletVersion,
      ip,
      `${n.status.capacity?.cpu} CPU, ${memory(n.status.capacity?.memory)}, ${n.status.capacity?.pods} pods`,
      u ? `${cpu(u.cpu)}${share(u.cpu, n.status.capacity?.cpu)} CPU, ${memory(u.memory)}${share(u.memory, n.status.capacity?.memory)}` : html`<span class="muted">metrics-server not installed</span>`,
      (n.spec.taints ?? []).map((t: Obj) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(' ') || '-',
      problems.length ? html`<span class="bad">${problems.join(', ')}</span>` : html`<span class="ok">no pressure</span>`,
      age(n.metadata.creationTimestamp),
    ];
  });
  return html`<h2>Nodes (${nodes.items.length})</h2><${Table} id="nodes" head=${['Name', 'Status', 'Roles', 'Version', 'Address', 'Capacity', 'Usage', 'Taints', 'Conditions', 'Age']} rows=${rows} />`;
}

function podStatus(p: Obj): { text: string; ok: boolean | undefined } {
  if (p.metadata.deletionTimestamp) return { text: 'Terminating', ok: undefined };
  const waiting = (p.status.containerStatuses ?? []).find((c: Obj) => c.state?.waiting)?.state.waiting.reason;
  const terminated = (p.status.containerStatuses ?? []).find((c: Obj) => c.state?.terminated && c.state.terminated.exitCode !== 0)?.state.terminated.reason;
  const text = waiting ?? terminated ?? p.status.phase;
  return { text, ok: p.status.phase === 'Running' || p.status.phase === 'Succeeded' ? (waiting || terminated ? false : true) : p.status.phase === 'Pending' ? undefined : false };
}

function Pods({ namespace }: { namespace?: string }) {
  const [data, error] = useApi([namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods']);
  if (!data) return html`<${Loading} error=${error} />`;
  const rows = data[0].items.map((p: Obj) => {
    const statuses = p.status.containerStatuses ?? [];
    const s = podStatus(p);
    return [
      p.metadata.namespace,
      html`<a href=${`#/logs/${p.metadata.namespace}/${p.metadata.name}`}>${p.metadata.name}</a>`,
      `${statuses.filter((c: Obj) => c.ready).length}/${p.spec.containers.length}`,
      html`<${Status} ok=${s.ok} text=${s.text} />`,
      statuses.reduce((n: number, c: Obj) => n + (c.restartCount ?? 0), 0),
      p.spec.nodeName ?? '-',
      p.status.podIP ?? '-',
      age(p.metadata.creationTimestamp),
    ];
  });
  return html`<h2>Pods (${rows.length})</h2><${Table} id="pods" head=${['Namespace', 'Name (logs)', 'Ready', 'Status', 'Restarts', 'Node', 'IP', 'Age']} rows=${rows} />`;
}

function Workloads() {
  const [data, error] = useApi(['/apis/apps/v1/deployments', '/apis/apps/v1/daemonsets', '/apis/apps/v1/statefulsets', '/apis/batch/v1/jobs']);
  if (!data) return html`<${Loading} error=${error} />`;
  const [deployments, daemonsets, statefulsets, jobs] = data;
  const row = (kind: string, o: Obj, ready: number, want: number) => [kind, o.metadata.namespace, o.metadata.name, html`<${Status} ok=${ready >= want} text=${`${ready}/${want}`} />`, age(o.metadata.creationTimestamp)];
  const rows = [
    ...deployments.items.map((o: Obj) => row('Deployment', o, o.status.readyReplicas ?? 0, o.spec.replicas ?? 0)),
    ...daemonsets.items.map((o: Obj) => row('DaemonSet', o, o.status.numberReady ?? 0, o.status.desiredNumberScheduled ?? 0)),
    ...statefulsets.items.map((o: Obj) => row('StatefulSet', o, o.status.readyReplicas ?? 0, o.spec.replicas ?? 0)),
    ...jobs.items.map((o: Obj) => row('Job', o, o.status.succeeded ?? 0, o.spec.completions ?? 1)),
  ];
  return html`<h2>Workloads (${rows.length})</h2><${Table} id="workloads" head=${['Kind', 'Namespace', 'Name', 'Ready', 'Age']} rows=${rows} />`;
}

function Services() {
  const [data, error] = useApi(['/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices']);
  if (!data) return html`<${Loading} error=${error} />`;
  const [services, slices] = data;
  const endpoints = new Map<string, string[]>();
  for (const s of slices.items) {
    const key = `${s.metadata.namespace}/${s.metadata.labels?.['kubernetes.io/service-name']}`;
    const ports = (s.ports ?? []).map((p: Obj) => p.port);
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const a of e.addresses) (endpoints.get(key) ?? endpoints.set(key, []).get(key)!).push(ports.length ? `${a}:${ports.join(',')}` : a);
    }
  }
  const rows = services.items.map((s: Obj) => {
    const eps = endpoints.get(`${s.metadata.namespace}/${s.metadata.name}`) ?? [];
    return [
      s.metadata.namespace,
      s.metadata.name,
      s.spec.type,
      s.spec.clusterIP,
      (s.spec.ports ?? []).map((p: Obj) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(' '),
      s.spec.type === 'ExternalName' ? s.spec.externalName : eps.length ? eps.join(' ') : html`<span class="warn">no ready endpoints</span>`,
    ];
  });
  return html`<h2>Services (${rows.length})</h2><${Table} id="services" head=${['Namespace', 'Name', 'Type', 'Cluster IP', 'Ports', 'Endpoints']} rows=${rows} />`;
}

function Events() {
  const [data, error] = useApi(['/api/v1/events']);
  if (!data) return html`<${Loading} error=${error} />`;
  const items = [...data[0].items].sort((a: Obj, b: Obj) => Date.parse(b.lastTimestamp ?? b.eventTime ?? 0) - Date.parse(a.lastTimestamp ?? a.eventTime ?? 0)).slice(0, 200);
  const rows = items.map((e: Obj) => [
    age(e.lastTimestamp ?? e.eventTime),
    html`<${Status} ok=${e.type === 'Normal'} text=${e.type} />`,
    e.reason,
    `${e.involvedObject.kind}/${e.involvedObject.name}`,
    e.metadata.namespace,
    e.message,
    e.count ?? 1,
  ]);
  return html`<h2>Events (latest ${rows.length})</h2><${Table} id="events" head=${['Last seen', 'Type', 'Reason', 'Object', 'Namespace', 'Message', 'Count']} rows=${rows} />`;
}

function Namespaces() {
  const [data, error] = useApi(['/api/v1/namespaces']);
  if (!data) return html`<${Loading} error=${error} />`;
  const rows = data[0].items.map((n: Obj) => [html`<a href=${`#/pods/${n.metadata.name}`}>${n.metadata.name}</a>`, n.status.phase, age(n.metadata.creationTimestamp)]);
  return html`<h2>Namespaces (${rows.length})</h2><${Table} id="namespaces" head=${['Name (pods)', 'Status', 'Age']} rows=${rows} />`;
}

/** Live logs: the API's log stream (follow=true) read as it arrives. */
function Logs({ namespace, pod, container }: { namespace: string; pod: string; container?: string }) {
  const [text, setText] = useState('');
  const [state, setState] = useState('connecting…');
  const [containers, setContainers] = useState<string[]>([]);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const controller = new AbortController();
    setText('');
    get(`/api/v1/namespaces/${namespace}/pods/${pod}`)
      .then((p: Obj) => setContainers(p.spec.containers.map((c: Obj) => c.name)))
      .catch(() => undefined);
    const query = `follow=true&tailLines=500${container ? `&container=${encodeURIComponent(container)}` : ''}`;
    fetch(`k8s/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`, { signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
        setState('streaming');
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          setText((t) => (t + decoder.decode(value, { stream: true })).slice(-200_000));
        }
        setState('ended');
      })
      .catch((e: Error) => !controller.signal.aborted && setState(`error: ${e.message}`));
    return () => controller.abort();
  }, [namespace, pod, container]);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text]);
  return html`
    <h2>Logs: ${namespace}/${pod}${container ? ` (${container})` : ''} <small class="muted">${state}</small></h2>
    ${containers.length > 1 ? html`<p>Containers: ${containers.map((c) => html` <a href=${`#/logs/${namespace}/${pod}/${c}`}>${c}</a>`)}</p>` : ''}
    <pre id="logs" ref=${box}>${text}</pre>
  `;
}

function LocalCluster() {
  const [data, error] = useApi([`/api/v1/namespaces/kube-system/configmaps/${INFO_CONFIGMAP}?optional=1`, `/api/v1/namespaces/kube-system/configmaps/${CHECKS_CONFIGMAP}?optional=1`, '/version']);
  if (!data) return html`<${Loading} error=${error} />`;
  const [info, checks, version] = data;
  const d = info?.data ?? {};
  const results: Obj[] = checks?.data?.['results.json'] ? JSON.parse(checks.data['results.json']) : [];
  return html`
    <h2>local-cluster</h2>
    <${Table} id="cluster-info" head=${['Setting', 'Value']} rows=${[
      ['Cluster', d.cluster ?? '?'],
      ['Kubernetes', version?.gitVersion],
      ['CNI plugin', html`<span id="cni">${d.cni ?? '?'}</span>`],
      ['Pod subnet', d.podSubnet ?? '?'],
      ['Service subnet', d.serviceSubnet ?? '?'],
      ['kube-proxy mode', d.kubeProxyMode ?? '?'],
      ['Addons', d.addons ?? '?'],
      ['Nodes', d.nodes ?? '?'],
      ['Created', d.createdAt ?? '?'],
      ['Snapshot', d.snapshot ?? '?'],
    ]} />
    <h3>Network checks${checks?.data?.ranAt ? ` (latest run ${checks.data.ranAt})` : ''}</h3>
    ${results.length
      ? html`<${Table} id="checks" head=${['Check', 'Result', 'Time', 'Details']} rows=${results.map((r) => [r.name, html`<${Status} ok=${r.skipped ? undefined : r.ok} text=${r.skipped ? 'skipped' : r.ok ? 'pass' : 'FAIL'} />`, r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)}s` : '', r.skipped ?? r.error ?? ''])} />`
      : html`<p class="muted">No checks run yet: <code>local-cluster check</code> runs them and leaves the results here.</p>`}
  `;
}

function route(hash: string): Obj {
  const [view, ...args] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (view) {
    case 'pods':
      return html`<${Pods} namespace=${args[0]} />`;
    case 'workloads':
      return html`<${Workloads} />`;
    case 'services':
      return html`<${Services} />`;
    case 'events':
      return html`<${Events} />`;
    case 'namespaces':
      return html`<${Namespaces} />`;
    case 'logs':
      return html`<${Logs} namespace=${args[0]} pod=${args[1]} container=${args[2]} />`;
    case 'local-cluster':
      return html`<${LocalCluster} />`;
    default:
      return html`<${Nodes} /><${Workloads} />`;
  }
}

function App() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const links: [string, string][] = [
    ['#/', 'Overview'],
    ['#/pods', 'Pods'],
    ['#/workloads', 'Workloads'],
    ['#/services', 'Services'],
    ['#/events', 'Events'],
    ['#/namespaces', 'Namespaces'],
    ['#/local-cluster', 'local-cluster'],
  ];
  return html`
    <header><strong>local-cluster dashboard</strong> ${links.map(([href, text]) => html`<a class=${hash === href || (href !== '#/' && hash.startsWith(href)) ? 'active' : ''} href=${href}>${text}</a>`)}</header>
    <main>${route(hash)}</main>
  `;
}

const root = document.getElementById('app')!;
root.textContent = '';
render(html`<${App} />`, root);
