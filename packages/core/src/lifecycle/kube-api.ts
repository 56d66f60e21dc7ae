import yaml from 'js-yaml';
import { Agent, request } from 'undici';

/** How to reach an API server: its URL, the CA that signed its certificate, and a client cert or a bearer token. */
export interface ApiAccess {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

interface KubeconfigDoc {
  clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
  users?: { user?: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string } }[];
}

const fromBase64 = (v?: string) => (v ? Buffer.from(v, 'base64').toString('utf8') : undefined);

/** The first cluster and user of a kubeconfig with inline data (admin.conf, or the one `up` writes). */
export function apiAccessFromKubeconfig(text: string): ApiAccess {
  const doc = (yaml.load(text) ?? {}) as KubeconfigDoc;
  const cluster = doc.clusters?.[0]?.cluster;
  const user = doc.users?.[0]?.user;
  if (!cluster?.server) throw new Error('the kubeconfig names no server');
  const access: ApiAccess = { server: cluster.server };
  const ca = fromBase64(cluster['certificate-authority-data']);
  const cert = fromBase64(user?.['client-certificate-data']);
  const key = fromBase64(user?.['client-key-data']);
  if (ca) access.ca = ca;
  if (cert) access.cert = cert;
  if (key) access.key = key;
  if (user?.token) access.token = user.token;
  return access;
}

/** A kubeconfig for `server` with the CA of `access` and a bearer token (for a ServiceAccount). */
export function tokenKubeconfig(server: string, ca: string, token: string, name: string): string {
  return yaml.dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      'current-context': name,
    },
    { lineWidth: -1 },
  );
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A small Kubernetes API client over undici (keep-alive connections, many requests in
 * flight): what creating thousands of objects fast needs, and no more.
 */
export class KubeApi {
  private readonly dispatcher: Agent;

  constructor(
    readonly access: ApiAccess,
    connections = 32,
  ) {
    this.dispatcher = new Agent({
      connections,
      connect: { ...(access.ca ? { ca: access.ca } : {}), ...(access.cert ? { cert: access.cert } : {}), ...(access.key ? { key: access.key } : {}) },
    });
  }

  /** Sends one request; JSON in and out. `ok` lists statuses besides 2xx that are not errors (409 for a create that exists). */
  async call<T = unknown>(method: string, path: string, options: { body?: unknown; contentType?: string; ok?: number[]; signal?: AbortSignal } = {}): Promise<{ status: number; body: T }> {
    const res = await request(`${this.access.server}${path}`, {
      method: method as 'GET',
      dispatcher: this.dispatcher,
      headers: {
        accept: 'application/json',
        ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
        ...(this.access.token ? { authorization: `Bearer ${this.access.token}` } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await res.body.text();
    if ((res.statusCode < 200 || res.statusCode >= 300) && !options.ok?.includes(res.statusCode)) {
      const message = (() => {
        try {
          return (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          return text;
        }
      })();
      throw new ApiError(`${method} ${path}: ${res.statusCode} ${message.slice(0, 300)}`, res.statusCode);
    }
    // /readyz, /healthz and logs answer text/plain
    const json = String(res.headers['content-type'] ?? 'application/json').includes('json');
    return { status: res.statusCode, body: (text ? (json ? JSON.parse(text) : text) : undefined) as T };
  }

  /** Server-side apply of one object (JSON is YAML) under the field manager `local-cluster`. */
  async apply(path: string, object: unknown, signal?: AbortSignal): Promise<void> {
    await this.call('PATCH', `${path}?fieldManager=local-cluster&force=true`, { body: object, contentType: 'application/apply-patch+yaml', ...(signal ? { signal } : {}) });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Runs `task` over `items` with at most `limit` in flight; the first failure stops new starts and is thrown. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
