import type { Kubectl } from '@local-cluster/core';
import { manifestOf, REAL_NODES_SELECTOR } from '@local-cluster/core';
import {
  answeredBy,
  describeMismatch,
  HTTP_PORT,
  kubectlExec,
  mismatches,
  type NetcheckTable,
  type PodSource,
  runTable,
  toolboxServer,
} from '../reachability/index.js';

/**
 * NetworkPolicy conformance: a server pod and client pods (one allowed by
 * label, one not, one in another namespace allowed by namespace selector),
 * spread over the nodes. Every step is a table of which clients must reach the
 * server (by pod IP and through its Service) and which must not, probed in
 * rounds for a bounded time until the network agrees, so a dead network fails
 * the positive cells and an unenforced policy fails the negative ones.
 */

/** Probe rounds per step, 2 s apart (each probe bounded at 3 s): about a minute for policies to be enforced. */
const POLICY_ATTEMPTS = 12;

export async function runPolicyChecks(kubectl: Kubectl, options: { image: string; signal?: AbortSignal }): Promise<NetcheckTable[]> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const ns = `lc-policy-${suffix}`;
  const other = `lc-policy-other-${suffix}`;
  const nodes = (await kubectl(['get', 'nodes', '-l', REAL_NODES_SELECTOR, '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/).filter(Boolean).sort();
  // server on the last node, clients on the others where there are others (cross-node traffic)
  const serverNode = nodes[nodes.length - 1]!;
  const clientNode = (i: number) => nodes[i % Math.max(1, nodes.length - 1)]!;
  const server = toolboxServer(options.image);
  // Ready once running, as the policies come and go (a policy need not exempt the kubelet's probes)
  const pod = (name: string, node: string, namespace: string, labels: Record<string, string>) => server.pod(name, node, { namespace, labels, readiness: false });
  const clients: PodSource[] = [
    { name: `${ns}/allowed`, pod: 'allowed', namespace: ns },
    { name: `${ns}/denied`, pod: 'denied', namespace: ns },
    { name: `${other}/outsider`, pod: 'outsider', namespace: other },
  ];
  const objects: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other, labels: { 'local-cluster-policy': 'allowed-namespace' } } },
    pod('server', serverNode, ns, { app: 'server' }),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'server', namespace: ns }, spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: HTTP_PORT }] } },
    // the clients are servers of the same image too: one pod recipe, and they can run the probes
    pod('allowed', clientNode(0), ns, { role: 'allowed' }),
    pod('denied', clientNode(1), ns, { role: 'denied' }),
    pod('outsider', clientNode(2), other, { role: 'denied' }),
  ];
  const tables: NetcheckTable[] = [];
  try {
    await kubectl(['apply', '-f', '-'], manifestOf(objects));
    for (const n of [ns, other]) await kubectl(['-n', n, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
    const serverIp = (await kubectl(['-n', ns, 'get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}'])).trim();
    const targets = [
      { target: 'server by pod IP', probe: { kind: 'http' as const, host: serverIp, port: HTTP_PORT } },
      { target: 'server by Service', probe: { kind: 'http' as const, host: `server.${ns}.svc.cluster.local`, port: 80 } },
    ];

    const expect = async (step: string, allowed: Record<string, boolean>) => {
      const cells = clients.flatMap((source) => targets.map((t) => ({ source, ...t, expect: allowed[source.pod]!, accept: answeredBy(['server']) })));
      tables.push(await runTable({ name: step, description: step, cells }, { exec: kubectlExec(kubectl, ns), tools: server.tools, attempts: POLICY_ATTEMPTS, ...(options.signal ? { signal: options.signal } : {}) }));
    };
    const policy = (name: string, spec: object) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });

    await expect('no policy: every client reaches the server', { allowed: true, denied: true, outsider: true });
    await kubectl(['apply', '-f', '-'], JSON.stringify(policy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })));
    await expect('default-deny ingress: no client reaches the server', { allowed: false, denied: false, outsider: false });
    await kubectl(['apply', '-f', '-'], JSON.stringify(policy('allow-by-label', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'allowed' } } }] }] })));
    await expect('allow by pod label: only the labelled client gets through', { allowed: true, denied: false, outsider: false });
    await kubectl(['apply', '-f', '-'], JSON.stringify(policy('allow-by-namespace', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'local-cluster-policy': 'allowed-namespace' } } }] }] })));
    await expect('allow by namespace selector: the other namespace gets through too', { allowed: true, denied: false, outsider: true });
    // egress: the allowed client may send nothing but DNS
    await kubectl(['apply', '-f', '-'], JSON.stringify(policy('deny-egress-allowed', { podSelector: { matchLabels: { role: 'allowed' } }, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] })));
    await expect('egress deny on the allowed client: it no longer reaches the server', { allowed: false, denied: false, outsider: true });
    await kubectl(['-n', ns, 'delete', 'networkpolicy', '--all']);
    await expect('policies removed: every client reaches the server again', { allowed: true, denied: true, outsider: true });
    return tables;
  } finally {
    await kubectl(['delete', 'namespace', ns, other, '--wait=false']).catch(() => undefined);
  }
}

/** The mismatched cells of every step, one clause each. */
export function describePolicyFailures(tables: readonly NetcheckTable[]): string {
  return tables.flatMap((t) => mismatches(t.cells).map((c) => `${t.name}: ${describeMismatch(c)}`)).join('; ');
}
