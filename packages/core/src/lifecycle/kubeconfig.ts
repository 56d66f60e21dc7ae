import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import yaml from 'js-yaml';

interface Named {
  name: string;
  [key: string]: unknown;
}

interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  'current-context'?: string;
  [key: string]: unknown;
}

/** The kubeconfig file kubectl uses: the first path of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(env: Record<string, string | undefined> = process.env): string {
  const first = env.KUBECONFIG?.split(delimiter).find(Boolean);
  return first ?? join(homedir(), '.kube', 'config');
}

/** Points an admin.conf at the host port and renames its entries to `contextName`. */
export function rewriteAdminKubeconfig(adminConf: string, contextName: string, server: string): string {
  const doc = yaml.load(adminConf) as Kubeconfig;
  const cluster = doc.clusters?.[0];
  const user = doc.users?.[0];
  if (!cluster || !user) throw new Error('admin.conf has no cluster or user entry');
  const out: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: contextName, cluster: { ...(cluster.cluster as object), server } }],
    users: [{ name: contextName, user: user.user }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName } }],
    'current-context': contextName,
  };
  return yaml.dump(out, { noRefs: true, lineWidth: -1 });
}

async function readKubeconfig(path: string): Promise<Kubeconfig> {
  try {
    return (yaml.load(await readFile(path, 'utf8')) as Kubeconfig | undefined) ?? {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.local-cluster-${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

function upsert(list: Named[] | undefined, entry: Named): Named[] {
  return [...(list ?? []).filter((e) => e.name !== entry.name), entry];
}

/** Merges a single-context kubeconfig into the user's, like kind; makes it current. */
export async function mergeIntoUserKubeconfig(ours: string, path: string): Promise<void> {
  const add = yaml.load(ours) as Kubeconfig;
  const existing = await readKubeconfig(path);
  const merged: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    ...existing,
    clusters: upsert(existing.clusters, add.clusters![0]!),
    users: upsert(existing.users, add.users![0]!),
    contexts: upsert(existing.contexts, add.contexts![0]!),
    'current-context': add['current-context']!,
  };
  await writeAtomically(path, yaml.dump(merged, { noRefs: true, lineWidth: -1 }));
}

/** Removes a context (and its cluster and user) from the user's kubeconfig; leaves everything else. */
export async function removeFromUserKubeconfig(contextName: string, path: string): Promise<boolean> {
  const existing = await readKubeconfig(path);
  const has = (list?: Named[]) => list?.some((e) => e.name === contextName) ?? false;
  if (!has(existing.clusters) && !has(existing.users) && !has(existing.contexts)) return false;
  const drop = (list?: Named[]) => (list ?? []).filter((e) => e.name !== contextName);
  const next: Kubeconfig = { ...existing, clusters: drop(existing.clusters), users: drop(existing.users), contexts: drop(existing.contexts) };
  if (next['current-context'] === contextName) next['current-context'] = '';
  await writeAtomically(path, yaml.dump(next, { noRefs: true, lineWidth: -1 }));
  return true;
}

export { writeAtomically };
