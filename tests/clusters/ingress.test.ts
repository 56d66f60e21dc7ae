import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clean, waitFor } from '@local-cluster/core';
import { cli, driver, kubectlFor, leftovers, run, toolHome } from './helpers.js';

// The ingress addon (Traefik): `up --addons ingress` on host ports of this file's own (others may
// hold 80/443), an Ingress and an HTTPRoute for two Services answered from the host by name
// (*.localhost is 127.0.0.1) over HTTP and HTTPS (the cluster's CA), 404 for an unknown name and
// 503 for a Service without endpoints; `netcheck ingress gateway` green. Bad input refused before
// anything is made: a taken port, services mode, a Gateway API release the proxy does not serve.
const A = `ing-a-${process.pid}`;
const BAD = `ing-bad-${process.pid}`;
const SUBNET_A = '10.210.0.0/16';
const SUBNET_BAD = '10.219.0.0/16';
const HTTP_PORT = 28080;
const HTTPS_PORT = 28443;
const kubectl = kubectlFor(A);
const dir = mkdtempSync(join(tmpdir(), 'lc-ingress-'));
/** The agnhost image `netcheck` loads into the nodes: the backends run it too. */
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.56';

afterAll(async () => {
  for (const cluster of [A, BAD]) await clean({ driver, cluster }).catch(() => undefined);
});

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

const curl = (...args: string[]) => run('curl', ['-sS', '--max-time', '5', '-w', ' HTTP%{http_code}', ...args]);

async function applyJson(objects: object[]): Promise<void> {
  const file = join(dir, `objects-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const r = await kubectl('apply', '-f', file);
  expect(r.code, r.stderr).toBe(0);
}

function backend(name: string): object[] {
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: AGNHOST, args: ['netexec', '--http-port=8080'], readinessProbe: { httpGet: { path: '/healthz', port: 8080 } } }] } },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  ];
}

describe('ingress addon', () => {
  it('refuses a taken port, services mode and an unserved Gateway API release before anything is made', async () => {
    const busy = await hold(HTTP_PORT + 1);
    try {
      const taken = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', 'ingress', '--ingress-http-port', String(HTTP_PORT + 1), '--ingress-https-port', String(HTTPS_PORT + 1), '--dind-subnet', SUBNET_BAD]);
      expect(taken.code).not.toBe(0);
      expect(taken.stderr).toContain(`cluster.ingress.httpPort (--ingress-http-port): port ${HTTP_PORT + 1} is already in use`);
    } finally {
      busy.close();
    }
    const services = await cli(['up', '--name', BAD, '--mode', 'services', '--addons', 'ingress', '--ingress-http-port', String(HTTP_PORT + 1), '--ingress-https-port', String(HTTPS_PORT + 1), '--dind-subnet', SUBNET_BAD]);
    expect(services.code).not.toBe(0);
    expect(services.stderr).toContain('conflicts with cluster.mode "services"');
    const version = await cli(['up', '--name', BAD, '--num-nodes', '0', '--addons', 'ingress', '--ingress-http-port', String(HTTP_PORT + 1), '--ingress-https-port', String(HTTPS_PORT + 1), '--gateway-api-version', 'v0.0.99', '--dind-subnet', SUBNET_BAD]);
    expect(version.code).not.toBe(0);
    expect(version.stderr).toContain('cluster.ingress.gatewayApiVersion (--gateway-api-version) v0.0.99: the Go module proxy does not serve sigs.k8s.io/gateway-api@v0.0.99');
    expect(await leftovers(BAD)).toEqual([]);
  }, 300_000);

  it('routes an Ingress and an HTTPRoute from the host by name, over HTTP and HTTPS, with 404 and 503 where nothing answers', async () => {
    const up = await cli(['up', '--name', A, '--num-nodes', '1', '--addons', 'ingress', '--ingress-http-port', String(HTTP_PORT), '--ingress-https-port', String(HTTPS_PORT), '--dind-subnet', SUBNET_A]);
    expect(up.code, up.stderr + up.stdout).toBe(0);

    // netcheck first: it loads agnhost into the nodes, which the backends below run too
    const netcheck = await cli(['netcheck', '--name', A, 'ingress', 'gateway']);
    expect(netcheck.code, netcheck.stdout + netcheck.stderr).toBe(0);
    expect(netcheck.stdout).toMatch(/2 passed, 0 failed \(cases; (\d+) of \1 cells as expected\)/);

    await applyJson([
      ...backend('app-a'),
      ...backend('app-b'),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nobody', namespace: 'default' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80, targetPort: 8080 }] } },
      {
        // no ingressClassName: traefik is the default class
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'apps', namespace: 'default' },
        spec: {
          rules: [
            { host: 'app-a.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-a', port: { number: 80 } } } }] } },
            { host: 'localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app-a', port: { number: 80 } } } }] } },
            { host: 'nobody.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'nobody', port: { number: 80 } } } }] } },
          ],
        },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'app-b', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'traefik', namespace: 'traefik' }],
          hostnames: ['app-b.localhost'],
          rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/hostname' } }], backendRefs: [{ name: 'app-b', port: 80 }] }],
        },
      },
    ]);
    const rollout = await kubectl('rollout', 'status', 'deployment/app-a', 'deployment/app-b', '--timeout=120s');
    expect(rollout.code, rollout.stderr).toBe(0);

    const answer = async (url: string, ...extra: string[]) => (await curl(...extra, url)).stdout.trim();
    // the host name resolves to 127.0.0.1 (curl, RFC 6761) and reaches the node's port 80 through the published port
    await waitFor('app-a.localhost to answer', async () => (/^app-a-\S+ HTTP200$/.test(await answer(`http://app-a.localhost:${HTTP_PORT}/hostname`)) ? true : undefined), { timeoutMs: 60_000 });
    expect(await answer(`http://app-a.localhost:${HTTP_PORT}/hostname`)).toMatch(/^app-a-\S+ HTTP200$/);
    await waitFor('app-b.localhost to answer', async () => (/^app-b-\S+ HTTP200$/.test(await answer(`http://app-b.localhost:${HTTP_PORT}/hostname`)) ? true : undefined), { timeoutMs: 60_000 });
    expect(await answer(`http://app-b.localhost:${HTTP_PORT}/hostname`)).toMatch(/^app-b-\S+ HTTP200$/);
    // the HTTPRoute matches /hostname only; an unknown name answers 404; a Service without endpoints 503
    expect(await answer(`http://app-b.localhost:${HTTP_PORT}/echo?msg=x`)).toMatch(/HTTP404$/);
    expect(await answer(`http://nope.localhost:${HTTP_PORT}/hostname`)).toMatch(/HTTP404$/);
    expect(await answer(`http://nobody.localhost:${HTTP_PORT}/hostname`)).toMatch(/HTTP503$/);

    // HTTPS with the certificate signed by the cluster's CA, trusted through the kubeconfig's CA
    const kubeconfig = readFileSync(join(toolHome, 'clusters', A, 'admin.conf'), 'utf8');
    const ca = /certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1];
    expect(ca).toBeDefined();
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, Buffer.from(ca!, 'base64'));
    expect(await answer(`https://localhost:${HTTPS_PORT}/hostname`, '--cacert', caFile)).toMatch(/^app-a-\S+ HTTP200$/);
    // for any other name the same certificate (SAN *.localhost) chains to the cluster's CA; curl and OpenSSL
    // refuse a wildcard right under a top-level name, so the chain is checked without the name here
    const chain = await run('sh', ['-c', `out=$(openssl s_client -connect 127.0.0.1:${HTTPS_PORT} -servername app-b.localhost -CAfile ${caFile} -verify_return_error </dev/null 2>&1); echo "$out" | grep 'Verify return code'; echo "$out" | openssl x509 -noout -ext subjectAltName`]);
    expect(chain.stdout).toContain('Verify return code: 0 (ok)');
    expect(chain.stdout).toContain('DNS:*.localhost');
    // without the CA the certificate is not trusted: it is the cluster's, not a public one
    const untrusted = await curl(`https://localhost:${HTTPS_PORT}/hostname`);
    expect(untrusted.code).not.toBe(0);
  }, 1_200_000);
});
