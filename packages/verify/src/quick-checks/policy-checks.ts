import type { Kubectl } from '@local-cluster/core';
import { manifestOf, REAL_NODES_SELECTOR, waitFor } from '@local-cluster/core';

/**
 * NetworkPolicy conformance: a server pod and client pods (one allowed by
 * label, one not, one in another namespace allowed by namespace selector),
 * spread over the nodes. Every step states which clients must reach the server
 * (by pod IP and through its Service) and which must not, and waits a bounded
 * time for the network to agree, so a dead network fails the positive cells and
 * an unenforced policy fails the negative ones.
 */

interface Client {
  name: string;
  namespace: string;
}

export interface PolicyStepResult {
  step: string;
  cells: { client: string; target: string; expected: boolean; observed: boolean }[];
}

const POLICY_TIMEOUT_MS = 60_000;

function pod(name: string, namespace: string, node: string, labels: Record<string, string>, image: string, command: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      nodeName: node,
      tolerations: [{ operator: 'Exists' }],
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', image, imagePullPolicy: 'Never', command: ['sh', '-c', command] }],
    },
  };
}

/** Whether `client` gets an answer from `url` within 3 seconds. */
async function reaches(kubectl: Kubectl, client: Client, url: string): Promise<boolean> {
  try {
    const out = await kubectl(['-n', client.namespace, 'exec', client.name, '--', 'timeout', '3', 'wget', '-q', '-O', '-', url]);
    return out.trim() === 'server';
  } catch {
    return false;
  }
}

export async function runPolicyChecks(kubectl: Kubectl, options: { image: string; signal?: AbortSignal }): Promise<PolicyStepResult[]> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const ns = `lc-policy-${suffix}`;
  const other = `lc-policy-other-${suffix}`;
  const nodes = (await kubectl(['get', 'nodes', '-l', REAL_NODES_SELECTOR, '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(/\s+/).filter(Boolean).sort();
  // server on the last node, clients on the others where there are others (cross-node traffic)
  const serverNode = nodes[nodes.length - 1]!;
  const clientNode = (i: number) => nodes[i % Math.max(1, nodes.length - 1)]!;
  const objects: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other, labels: { 'local-cluster-policy': 'allowed-namespace' } } },
    pod('server', ns, serverNode, { app: 'server' }, options.image, 'mkdir -p /www && echo server > /www/index.html && exec httpd -f -p 8080 -h /www'),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'server', namespace: ns }, spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: 8080 }] } },
    pod('allowed', ns, clientNode(0), { role: 'allowed' }, options.image, 'exec sleep 3600'),
    pod('denied', ns, clientNode(1), { role: 'denied' }, options.image, 'exec sleep 3600'),
    pod('outsider', other, clientNode(2), { role: 'denied' }, options.image, 'exec sleep 3600'),
  ];
  const clients: Client[] = [
    { name: 'allowed', namespace: ns },
    { name: 'denied', namespace: ns },
    { name: 'outsider', namespace: other },
  ];
  const results: PolicyStepResult[] = [];
  try {
    await kubectl(['apply', '-f', '-'], manifestOf(objects));
    for (const n of [ns, other]) await kubectl(['-n', n, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
    const serverIp = (await kubectl(['-n', ns, 'get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}'])).trim();
    const targets = { 'pod IP': `http://${serverIp}:8080/`, Service: `http://server.${ns}.svc.cluster.local/` };

    const expect = async (step: string, allowed: Record<string, boolean>) => {
      let cells: PolicyStepResult['cells'] = [];
      await waitFor(
        `NetworkPolicy step "${step}"`,
        async () => {
          cells = [];
          for (const client of clients) {
            for (const [target, url] of Object.entries(targets)) {
              cells.push({ client: `${client.namespace}/${client.name}`, target, expected: allowed[client.name]!, observed: await reaches(kubectl, client, url) });
            }
          }
          return cells.every((c) => c.expected === c.observed) ? true : undefined;
        },
        { timeoutMs: POLICY_TIMEOUT_MS, intervalMs: 2000, ...(options.signal ? { signal: options.signal } : {}) },
      ).catch(() => undefined);
      results.push({ step, cells });
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
    return results;
  } finally {
    await kubectl(['delete', 'namespace', ns, other, '--wait=false']).catch(() => undefined);
  }
}

/** The failed cells, one line each. */
export function describePolicyFailures(results: readonly PolicyStepResult[]): string {
  return results
    .flatMap((r) => r.cells.filter((c) => c.expected !== c.observed).map((c) => `${r.step}: ${c.client} -> server by ${c.target} ${c.expected ? 'blocked, expected to pass' : 'passed, expected to be blocked'}`))
    .join('; ');
}
