import { readFileSync } from 'node:fs';
import type { ResolvedConfig } from '../config/schema.js';
import type { CallOptions, NodeHandle } from '../contracts/driver.js';
import { NODE_CONTRACT } from '../contracts/node.js';
import { writeNodeFile } from '../nodeutil.js';

/**
 * containerd's registry hosts (hosts.toml under its config_path, one directory per registry
 * name): where a pull of `NAME/...` goes. Read by containerd at every pull, so written at run
 * time without a restart. cluster.registries and the local registry both end up here.
 */

/** One place a registry name's pulls go to, tried in order. */
export interface RegistryHost {
  /** http://HOST[:PORT] or https://HOST[:PORT]. */
  url: string;
  /** Contents of a PEM CA certificate for its TLS. */
  ca?: string;
  skipVerify?: boolean;
  /** Basic credentials, sent as an Authorization header. */
  username?: string;
  password?: string;
}

export interface RegistryHosts {
  /** The registry name as images spell it: docker.io, registry.lan:5000, localhost:5001. */
  registry: string;
  /** Where the name itself points (`server`); default the registry's own https address. */
  server?: RegistryHost;
  /** Mirrors tried before the server. */
  mirrors: RegistryHost[];
}

export interface NodeFile {
  path: string;
  content: string;
}

/** The upstream address of a registry name (docker.io's is registry-1.docker.io). */
export function defaultServer(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

const quote = (value: string) => JSON.stringify(value);

/** hosts.toml and the CA files it names, for one registry name, under the node's config_path. */
export function registryHostsFiles(entry: RegistryHosts): NodeFile[] {
  const dir = `${NODE_CONTRACT.registryHostsDir}/${entry.registry}`;
  const files: NodeFile[] = [];
  const settings = (host: RegistryHost, indent: string): string[] => {
    const lines: string[] = [];
    if (host.ca !== undefined) {
      const path = `${dir}/${new URL(host.url).host.replace(/[^A-Za-z0-9.-]/g, '_')}-ca.crt`;
      files.push({ path, content: host.ca });
      lines.push(`${indent}ca = ${quote(path)}`);
    }
    if (host.skipVerify) lines.push(`${indent}skip_verify = true`);
    return lines;
  };
  const header = (host: RegistryHost, table: string): string[] =>
    host.username === undefined ? [] : ['', `[${table}]`, `  Authorization = ${quote(`Basic ${Buffer.from(`${host.username}:${host.password ?? ''}`).toString('base64')}`)}`];
  const server = entry.server ?? { url: defaultServer(entry.registry) };
  // top-level keys first (TOML puts every key after a table header into that table), then the
  // server's header table, then one table per mirror
  const lines = [`# ${entry.registry}: written by local-cluster`, `server = ${quote(server.url)}`, ...settings(server, ''), ...header(server, 'header')];
  for (const mirror of entry.mirrors) {
    const table = `host.${quote(mirror.url)}`;
    lines.push('', `[${table}]`, '  capabilities = ["pull", "resolve"]', ...settings(mirror, '  '), ...header(mirror, `${table}.header`));
  }
  files.unshift({ path: `${dir}/hosts.toml`, content: lines.join('\n') + '\n' });
  return files;
}

/** cluster.registries as hosts entries: each registry name's mirrors, each host's CA, TLS and credentials. */
export function configuredRegistryHosts(config: ResolvedConfig, readCa: (path: string) => string = (p) => readFileSync(p, 'utf8')): RegistryHosts[] {
  const { mirrors, configs } = config.cluster.registries;
  const host = (url: string): RegistryHost => {
    const settings = configs[new URL(url).host];
    return {
      url: url.replace(/\/+$/, ''),
      ...(settings?.ca !== undefined ? { ca: readCa(settings.ca) } : {}),
      ...(settings?.insecureSkipVerify ? { skipVerify: true } : {}),
      ...(settings?.username !== undefined ? { username: settings.username, password: settings.password ?? '' } : {}),
    };
  };
  return Object.entries(mirrors).map(([registry, urls]) => {
    const own = configs[registry];
    const serverUrl = defaultServer(registry);
    const server: RegistryHost = {
      url: serverUrl,
      ...(own?.ca !== undefined ? { ca: readCa(own.ca) } : {}),
      ...(own?.insecureSkipVerify ? { skipVerify: true } : {}),
      ...(own?.username !== undefined ? { username: own.username, password: own.password ?? '' } : {}),
    };
    // a registry listed with itself as its mirror (to give it a CA or plain http) needs no second entry
    return { registry, server, mirrors: urls.map(host) };
  });
}

/** Writes the hosts entries on every node (containerd reads them at the next pull). */
export async function writeRegistryHosts(nodes: readonly NodeHandle[], entries: readonly RegistryHosts[], options: CallOptions = {}): Promise<void> {
  const files = entries.flatMap(registryHostsFiles);
  await Promise.all(nodes.map(async (node) => {
    for (const file of files) await writeNodeFile(node, file.path, file.content, options);
  }));
}
