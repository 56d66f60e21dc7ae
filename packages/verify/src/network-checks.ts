import yaml from 'js-yaml';
import { clusterPodSubnet, nodeAddresses, NODE_CONTRACT, nthAddress, parseCidr, waitFor, type Kubectl } from '@local-cluster/core';


/** One cell of the reachability table: from a pod on one node to a target. */
export interface Reachability {
  from: string;
  to: string;
  ok: boolean;
  answer?: string;
  error?: string;
}

export interface NetworkProbe {
  namespace: string;
  /** Node name -> pod name and IP. */
  pods: Map<string, { pod: string; ip: string }>;
  serviceIp: string;
  serviceDns: string;
  /** The NodePort of a second Service over the same pods. */
  nodePort: number;
  /** Node name -> its InternalIP. */
  nodeIps: Map<string, string>;
  /** The ClusterIP of a Service over the same pods that has port 8081 only (nothing on its port 80). */
  otherServiceIp: string;
  /** An address of the cluster's pod range that no pod has, when the range is known. */
  unusedPodIp?: string;
}

const APP_LABEL = 'local-cluster-netcheck';

/**
 * Creates one web-serving pod pinned to every node (control plane included)
 * and a ClusterIP Service over them. The image must already be on the nodes
 * (nothing can be pulled) and hold busybox's httpd, wget and nslookup.
 */
export async function deployNetworkProbe(kubectl: Kubectl, options: { image: string; namespace?: string; signal?: AbortSignal }): Promise<NetworkProbe> {
  const namespace = options.namespace ?? `lc-netcheck-${Math.random().toString(36).slice(2, 8)}`;
  const addresses = await nodeAddresses(kubectl);
  const nodes = addresses.map((n) => n.name);
  const nodeIps = new Map(addresses.filter((n) => n.ip).map((n) => [n.name, n.ip]));
  const docs: unknown[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }];
  for (const node of nodes) {
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${node}`, namespace, labels: { app: APP_LABEL } },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': node },
        tolerations: [{ operator: 'Exists' }],
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'web',
            image: options.image,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', `mkdir -p /www && echo ${node} > /www/index.html && exec httpd -f -p 8080 -h /www`],
            ports: [{ containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    });
  }
  docs.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace },
    spec: { selector: { app: APP_LABEL }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  docs.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web-other-port', namespace },
    spec: { selector: { app: APP_LABEL }, ports: [{ port: 8081, targetPort: 8080 }] },
  });
  docs.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web-nodeport', namespace },
    spec: { type: 'NodePort', selector: { app: APP_LABEL }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await kubectl(['apply', '-f', '-'], docs.map((d) => yaml.dump(d)).join('---\n'));
  await kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
  const pods = new Map<string, { pod: string; ip: string }>();
  for (const node of nodes) {
    const ip = await waitFor(
      `pod IP of web-${node}`,
      async () => (await kubectl(['-n', namespace, 'get', 'pod', `web-${node}`, '-o', 'jsonpath={.status.podIP}'])).trim() || undefined,
      { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) },
    );
    pods.set(node, { pod: `web-${node}`, ip });
  }
  // the Service routes to every pod once its EndpointSlices list them all
  await waitFor(
    `endpoints of service web in ${namespace}`,
    async () => {
      const out = await kubectl(['-n', namespace, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'jsonpath={.items[*].endpoints[*].addresses[0]}']);
      return out.trim().split(/\s+/).filter(Boolean).length >= nodes.length ? true : undefined;
    },
    { timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const serviceIp = (await kubectl(['-n', namespace, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const nodePort = Number((await kubectl(['-n', namespace, 'get', 'service', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim());
  const otherServiceIp = (await kubectl(['-n', namespace, 'get', 'service', 'web-other-port', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const unusedPodIp = await unusedPodAddress(kubectl);
  return { namespace, pods, serviceIp, serviceDns: `web.${namespace}.svc.cluster.local`, nodePort, nodeIps, otherServiceIp, ...(unusedPodIp ? { unusedPodIp } : {}) };
}

/** The last usable address of the pod range kubeadm was given, unless a pod has it: nothing may answer there. */
export async function unusedPodAddress(kubectl: Kubectl): Promise<string | undefined> {
  const subnet = await clusterPodSubnet(kubectl);
  const parsed = subnet ? parseCidr(subnet) : undefined;
  if (!parsed || parsed.prefix > 30) return undefined;
  const address = nthAddress(`${parsed.address}/${parsed.prefix}`, 2 ** (32 - parsed.prefix) - 2);
  const used = (await kubectl(['get', 'pods', '-A', '-o', 'jsonpath={.items[*].status.podIP}'])).split(/\s+/);
  return used.includes(address) ? undefined : address;
}

async function fetchOnce(kubectl: Kubectl, probe: NetworkProbe, fromNode: string, url: string): Promise<{ ok: boolean; answer?: string; error?: string }> {
  const from = probe.pods.get(fromNode)!;
  try {
    // busybox-static's `wget -T` segfaults (Debian bookworm): bound it with `timeout` instead
    const answer = (await kubectl(['-n', probe.namespace, 'exec', from.pod, '--', 'timeout', '5', 'wget', '-q', '-O', '-', url])).trim();
    return { ok: true, answer };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n').slice(-1)[0] ?? String(e) };
  }
}

/**
 * Fetches `url` from the pod on `fromNode` until `accept` says yes or `retryMs` runs out:
 * kube-proxy programs a new Service's rules asynchronously, so the first tries right
 * after it was created may fail; a real failure still fails at the deadline.
 */
async function fetchFrom(
  kubectl: Kubectl,
  probe: NetworkProbe,
  fromNode: string,
  url: string,
  accept: (answer: string | undefined) => boolean,
  retryMs = 20_000,
): Promise<{ ok: boolean; answer?: string; error?: string }> {
  const deadline = Date.now() + retryMs;
  for (;;) {
    const r = await fetchOnce(kubectl, probe, fromNode, url);
    const ok = r.ok && accept(r.answer);
    if (ok || Date.now() > deadline) return { ...r, ok };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Every pod fetches from every other pod over TCP: the answer must be the target's node name. */
export async function podToPodTable(kubectl: Kubectl, probe: NetworkProbe): Promise<Reachability[]> {
  const cells: Promise<Reachability>[] = [];
  for (const from of probe.pods.keys()) {
    for (const [to, target] of probe.pods) {
      if (from === to) continue;
      cells.push(
        fetchFrom(kubectl, probe, from, `http://${target.ip}:8080/`, (answer) => answer === to).then((r) => ({ from, to, ...r })),
      );
    }
  }
  return Promise.all(cells);
}

/** From a pod on every node: the Service by ClusterIP and by its DNS name. */
export async function serviceTable(kubectl: Kubectl, probe: NetworkProbe): Promise<Reachability[]> {
  const nodes = new Set(probe.pods.keys());
  const cells: Promise<Reachability>[] = [];
  for (const from of probe.pods.keys()) {
    for (const [to, url] of [
      [`service ${probe.serviceIp}`, `http://${probe.serviceIp}/`],
      [`service ${probe.serviceDns}`, `http://${probe.serviceDns}/`],
    ] as const) {
      cells.push(fetchFrom(kubectl, probe, from, url, (answer) => nodes.has(answer ?? '')).then((r) => ({ from, to, ...r })));
    }
  }
  return Promise.all(cells);
}

/** From a pod on every node: the NodePort Service on every node's address (traffic stays on the cluster network). */
export async function nodePortTable(kubectl: Kubectl, probe: NetworkProbe): Promise<Reachability[]> {
  const nodes = new Set(probe.pods.keys());
  const cells: Promise<Reachability>[] = [];
  for (const from of probe.pods.keys()) {
    for (const [node, ip] of probe.nodeIps) {
      cells.push(
        fetchFrom(kubectl, probe, from, `http://${ip}:${probe.nodePort}/`, (answer) => nodes.has(answer ?? '')).then((r) => ({
          from,
          to: `NodePort ${probe.nodePort} on ${node}`,
          ...r,
        })),
      );
    }
  }
  return Promise.all(cells);
}

/**
 * Negative controls, from a pod on every node: port 80 of a Service that has no
 * port 80, and an address of the pod range no pod has, must not answer. This
 * machine's network answers TCP port 80 for any outside address, so either
 * answering means the packet left the cluster's nodes.
 */
export async function leakTable(kubectl: Kubectl, probe: NetworkProbe): Promise<Reachability[]> {
  const targets: [string, string][] = [[`port 80 of service ${probe.otherServiceIp} (it has 8081 only)`, `http://${probe.otherServiceIp}/`]];
  if (probe.unusedPodIp) targets.push([`pod-range address ${probe.unusedPodIp} (no pod)`, `http://${probe.unusedPodIp}/`]);
  const cells: Promise<Reachability>[] = [];
  for (const from of probe.pods.keys()) {
    for (const [to, url] of targets) {
      cells.push(
        fetchOnce(kubectl, probe, from, url).then((r) =>
          r.ok ? { from, to, ok: false, answer: r.answer ?? '', error: `answered (${JSON.stringify((r.answer ?? '').slice(0, 60))}): the packet left the nodes` } : { from, to, ok: true },
        ),
      );
    }
  }
  return Promise.all(cells);
}

/** Every table: pod to pod, ClusterIP by address and DNS name, NodePort on every node, and the negative controls. */
export async function podNetworkTables(kubectl: Kubectl, probe: NetworkProbe): Promise<Reachability[]> {
  return [
    ...(await podToPodTable(kubectl, probe)),
    ...(await serviceTable(kubectl, probe)),
    ...(await nodePortTable(kubectl, probe)),
    ...(await leakTable(kubectl, probe)),
  ];
}

export async function removeNetworkProbe(kubectl: Kubectl, probe: NetworkProbe): Promise<void> {
  await kubectl(['delete', 'namespace', probe.namespace, '--wait=false']);
}

/** A failed-cells summary for error messages. */
export function describeFailures(cells: readonly Reachability[]): string {
  return cells
    .filter((c) => !c.ok)
    .map((c) => `${c.from} -> ${c.to}: ${c.error ?? `answered "${c.answer}"`}`)
    .join('; ');
}

/** What runs kubectl against a cluster: a `Cluster` from `up()`, or any function of that shape. */
export interface KubectlTarget {
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<string>;
}

/**
 * The pod-network conformance checks a CNI must pass, against a real cluster:
 * a pod on every node answers a pod on every other node by pod IP, a ClusterIP
 * Service answers by address and DNS name, and a NodePort answers on every
 * node, each from every node. Returns every cell and a summary of the failed
 * ones (empty: conformant). The probe image must be on every node (the
 * toolbox image every node image preloads).
 */
export async function checkPodNetwork(
  cluster: KubectlTarget,
  options: { probeImage?: string } = {},
): Promise<{ cells: Reachability[]; failures: string }> {
  const kubectl: Kubectl = (args, stdin) => cluster.kubectl(args, stdin === undefined ? {} : { stdin });
  const probe = await deployNetworkProbe(kubectl, { image: options.probeImage ?? NODE_CONTRACT.toolboxImage });
  try {
    const cells = await podNetworkTables(kubectl, probe);
    return { cells, failures: describeFailures(cells) };
  } finally {
    await removeNetworkProbe(kubectl, probe);
  }
}
