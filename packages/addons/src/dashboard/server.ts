/**
 * The dashboard's server: serves the bundled page and forwards the page's read-only API
 * calls to the Kubernetes API with the pod's ServiceAccount token (whose ClusterRole only
 * reads). Runs in the dashboard image as `node /app/server.mjs`; reached through
 * `kubectl proxy` (`local-cluster dashboard`), so every URL it hands out is relative.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Agent, request } from 'undici';
import { allowed } from './paths.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const here = dirname(new URL(import.meta.url).pathname);
const port = Number(process.env.PORT ?? 8080);
const apiHost = process.env.KUBERNETES_SERVICE_HOST;
const apiPort = process.env.KUBERNETES_SERVICE_PORT ?? '443';
const api = process.env.DASHBOARD_API ?? (apiHost ? `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}` : '');

/** Page assets, read once. */
const assets: Record<string, { type: string; body: Buffer }> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(here, 'index.html')) },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(here, 'app.js')) },
};

function readSecret(name: string): string | undefined {
  try {
    return readFileSync(join(SA_DIR, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const ca = readSecret('ca.crt');
const dispatcher = new Agent({ connect: ca ? { ca } : {} });

async function forward(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  // the token rotates (bound ServiceAccount tokens): read it per request
  const token = readSecret('token');
  const upstream = await request(`${api}${path}`, {
    method: 'GET',
    headers: { accept: req.headers.accept ?? 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    dispatcher,
  });
  res.writeHead(upstream.statusCode, {
    'content-type': String(upstream.headers['content-type'] ?? 'application/json'),
    'cache-control': 'no-store',
  });
  // streams (logs with follow=true, watches) pass through as they come
  req.once('close', () => upstream.body.destroy());
  for await (const chunk of upstream.body) res.write(chunk);
  res.end();
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://dashboard');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (url.pathname.startsWith('/k8s/')) {
    const path = url.pathname.slice('/k8s'.length) + url.search;
    if (!allowed(req.method ?? 'GET', path)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('the dashboard only reads the Kubernetes API\n');
      return;
    }
    forward(req, res, path).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`API request failed: ${e.message}\n`);
    });
    return;
  }
  const asset = assets[url.pathname === '/index.html' ? '/' : url.pathname];
  if (!asset || req.method !== 'GET') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' }).end(asset.body);
});

server.listen(port, () => process.stdout.write(`dashboard listening on :${port}, API ${api || '(none)'}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
