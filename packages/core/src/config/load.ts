import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';
import { ConfigError, describeSource, type ConfigSource } from '../errors.js';
import { cidrsOverlapAny, configSchema, type ConfigInput, type ResolvedConfig } from './schema.js';
import { ipv6Ranges, isUniqueLocal } from './ip-family.js';
import { listSettings, settingByPath, type Setting } from './settings.js';
import { convertKindConfig, isKindConfig, kindFieldOf } from './kind.js';

/** The kind fields a converted kind config's settings came from, by the converted document. */
const kindOrigins = new WeakMap<object, [string, string][]>();

export const CONFIG_FILE_ENV = 'LOCAL_CLUSTER_CONF';
export const HOME_ENV = 'LOCAL_CLUSTER_HOME';

export interface LoadConfigOptions {
  /** Config file path (ours, or a kind cluster config). Default: $LOCAL_CLUSTER_CONF, else ~/.local-cluster/config.yaml when it exists. */
  file?: string;
  /** What named `file`, for messages (the CLI's --config flag). Default: the library caller. */
  fileSource?: ConfigSource;
  /** Environment to read LOCAL_CLUSTER_* from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Raw CLI flag values keyed by flag name (`num-nodes`), as strings or booleans. */
  flags?: Record<string, string | boolean | undefined>;
  /** Settings passed by a library user; they win over everything else. */
  overrides?: ConfigInput;
  /** Working directory for relative paths. Default: process.cwd(). */
  cwd?: string;
}

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Where each setting's value came from, by dotted path. */
  sources: Record<string, ConfigSource>;
  /** The config file that was read, if any. */
  file: string | undefined;
  /** Directory plugin paths and package names resolve from. */
  baseDir: string;
}

/** The tool's home: $LOCAL_CLUSTER_HOME or ~/.local-cluster. */
export function localClusterHome(env: Record<string, string | undefined> = process.env): string {
  return env[HOME_ENV] || join(homedir(), '.local-cluster');
}

function getIn(obj: Record<string, unknown>, keys: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setIn(obj: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Turns an env/flag string into the setting's type where it clearly is one; zod judges the rest. */
export function coerceText(setting: Setting, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  const text = raw.trim();
  switch (setting.type) {
    case 'integer':
      return /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return text;
    }
    case 'map': {
      // Gate=true,Other=false; a malformed pair leaves the text for the schema to refuse
      const pairs = text.split(',').map((s) => s.trim()).filter(Boolean);
      if (pairs.some((p) => !/^[^=]+=.*$/.test(p))) return text;
      return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]));
    }
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

function suggest(unknownKey: string, parentPath: string[]): string | undefined {
  const settings = listSettings();
  const candidates = new Map<string, string>();
  for (const s of settings) {
    // siblings at the same level
    if (s.keys.length > parentPath.length && parentPath.every((k, i) => s.keys[i] === k)) {
      const sibling = s.keys.slice(0, parentPath.length + 1).join('.');
      candidates.set(s.keys[parentPath.length]!, sibling);
    }
    // a leaf written at the wrong level
    candidates.set(s.keys[s.keys.length - 1]!, s.path);
  }
  const names = [...candidates.keys()];
  const lowered = names.find((n) => n.toLowerCase() === unknownKey.toLowerCase());
  const best = lowered ?? closest(unknownKey, names);
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(unknownKey.length / 3));
  return lowered || distance(unknownKey, best) <= limit ? candidates.get(best) : undefined;
}

/**
 * Unknown keys are mistakes, wherever the settings come from: a config file (`file`) or a
 * library caller's options (`file` undefined). `allowed` names extra top-level keys a caller takes.
 */
export function checkKnownKeys(value: unknown, parentPath: string[], file: string | undefined, allowed: readonly string[] = []): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const settings = listSettings();
  const where = file ? `in config file ${file}` : 'in the options passed to the library';
  const source: ConfigSource = file ? { kind: 'file', path: file } : { kind: 'library' };
  for (const key of Object.keys(value)) {
    if (parentPath.length === 0 && allowed.includes(key)) continue;
    const path = [...parentPath, key];
    const isLeaf = settings.some((s) => s.path === path.join('.'));
    const isSection = settings.some((s) => s.keys.length > path.length && path.every((k, i) => s.keys[i] === k));
    if (!isLeaf && !isSection) {
      const hint = suggest(key, parentPath) ?? (parentPath.length === 0 ? closestOf(key, allowed) : undefined);
      throw new ConfigError(`Unknown setting "${path.join('.')}" ${where}.${hint ? ` Did you mean "${hint}"?` : ''}`, {
        setting: path.join('.'),
        source,
        hint: file ? 'Run `local-cluster --help` or see docs/user/configuration.md for the settings there are.' : 'The options are the config file\'s settings (see the table in docs/user/configuration.md) and the library\'s own options.',
      });
    }
    const child = (value as Record<string, unknown>)[key];
    if (isSection && child !== null && child !== undefined && (typeof child !== 'object' || Array.isArray(child))) {
      throw new ConfigError(`"${path.join('.')}" ${where} must be a mapping of settings, not ${Array.isArray(child) ? 'a list' : `a ${typeof child}`}.`, {
        setting: path.join('.'),
        source,
        hint: file ? `Write it as "${path.join('.')}:" followed by indented "key: value" lines.` : `Pass it as an object: { ${path.join('.').split('.').pop()}: { ... } }.`,
      });
    }
    if (isSection) checkKnownKeys(child, path, file);
  }
}

function closestOf(key: string, names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  const best = closest(key, [...names]);
  return distance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Reads and parses a YAML config file (ours or kind's, as written); malformed YAML names the file, line and column. */
export function readRawConfigFile(path: string, via?: ConfigSource): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      `Cannot read config file ${path}${via ? ` (named by ${describeSource(via)})` : ''}: ${(cause as NodeJS.ErrnoException).code ?? cause}.`,
      { source: { kind: 'file', path }, cause, hint: `Create the file or point ${CONFIG_FILE_ENV} at an existing one.` },
    );
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: path });
  } catch (cause) {
    const mark = (cause as { mark?: { line: number; column: number } }).mark;
    const reason = (cause as { reason?: string }).reason ?? String(cause);
    const line = mark ? mark.line + 1 : undefined;
    const column = mark ? mark.column + 1 : undefined;
    throw new ConfigError(`Malformed YAML in config file ${path}:${line}:${column}: ${reason}.`, {
      source: { kind: 'file', path, ...(line !== undefined ? { line } : {}), ...(column !== undefined ? { column } : {}) },
      cause,
      hint: 'Fix the YAML syntax at that line (indentation, a missing colon or an unclosed quote are usual causes).',
    });
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`Config file ${path} must hold a YAML mapping (key: value), not ${Array.isArray(doc) ? 'a list' : typeof doc}.`, {
      source: { kind: 'file', path },
      hint: 'Start the file with a section such as "cluster:" and indent its settings below it.',
    });
  }
  return doc as Record<string, unknown>;
}

/** Reads a config file as settings of ours: a kind cluster config is converted; unknown keys are refused. */
export function readConfigFile(path: string, via?: ConfigSource): Record<string, unknown> {
  const doc = readRawConfigFile(path, via);
  if (isKindConfig(doc)) {
    // kind's own cluster config: read as the equivalent config of ours
    const { config, origins } = convertKindConfig(doc, path);
    kindOrigins.set(config, origins);
    checkKnownKeys(config, [], path);
    return config;
  }
  checkKnownKeys(doc, [], path);
  return doc;
}

function fixHint(setting: Setting): string {
  if (!setting.flag) return `Fix "${setting.path}" in the config file (see the config table in docs/user/configuration.md for its shape).`;
  return `Set it with flag --${setting.flag}, environment variable ${setting.env}, or "${setting.path}" in the config file.`;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/**
 * Loads the effective config: defaults < file < environment < flags < library
 * overrides. Throws ConfigError naming the setting and where its value came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sources: Record<string, ConfigSource> = {};
  const merged: Record<string, unknown> = {};

  let file: string | undefined;
  let via: ConfigSource | undefined;
  if (options.file) {
    file = resolve(cwd, options.file);
    via = options.fileSource ?? { kind: 'library' };
  } else if (env[CONFIG_FILE_ENV]) {
    file = resolve(cwd, env[CONFIG_FILE_ENV]!);
    via = { kind: 'env', name: CONFIG_FILE_ENV };
  } else {
    const fallback = join(localClusterHome(env), 'config.yaml');
    if (existsSync(fallback)) file = fallback;
  }

  const settings = listSettings();
  let origins: [string, string][] | undefined;
  if (file) {
    const doc = readConfigFile(file, via);
    origins = kindOrigins.get(doc);
    for (const s of settings) {
      const value = getIn(doc, s.keys);
      if (value === undefined || value === null) continue;
      // the proposal writes lists as "a,b,c"; accept that as well as YAML lists
      setIn(merged, s.keys, s.type === 'list' && typeof value === 'string' ? coerceText(s, value) : value);
      sources[s.path] = { kind: 'file', path: file };
    }
  }
  for (const s of settings) {
    if (!s.env) continue;
    const raw = env[s.env];
    if (raw === undefined || raw === '') continue;
    setIn(merged, s.keys, coerceText(s, raw));
    sources[s.path] = { kind: 'env', name: s.env };
  }
  for (const s of settings) {
    if (!s.flag) continue;
    const raw = options.flags?.[s.flag];
    if (raw === undefined) continue;
    setIn(merged, s.keys, coerceText(s, raw));
    sources[s.path] = { kind: 'flag', name: s.flag };
  }
  if (options.overrides) {
    checkKnownKeys(options.overrides, [], undefined);
    for (const s of settings) {
      const value = getIn(options.overrides as Record<string, unknown>, s.keys);
      if (value === undefined) continue;
      setIn(merged, s.keys, value);
      sources[s.path] = { kind: 'library' };
    }
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter((k) => typeof k === 'string').join('.');
    const setting = settingByPath(path) ?? listSettings().find((s) => path.startsWith(s.path + '.'));
    if (!setting) throw new ConfigError(`Invalid config: ${issue.message}`, { cause: parsed.error });
    const source = sources[setting.path] ?? { kind: 'default' };
    // inside a structured setting, name the exact field: cluster.workers[0].extraMounts[1].hostPath
    const inner = issue.path.slice(setting.keys.length);
    const where = setting.path + inner.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
    const value = getIn(merged, issue.path.filter((k) => typeof k !== 'symbol').map(String));
    // a bad key of a map (a feature gate, a flag name): say which key and why
    const keyIssue = issue.code === 'invalid_key' ? (issue as { issues?: { message: string }[] }).issues?.[0] : undefined;
    const parent = setting.path + inner.slice(0, -1).map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
    const what = keyIssue
      ? `Invalid key "${String(inner[inner.length - 1])}" in ${parent}`
      : value === undefined
        ? `Invalid ${where}`
        : `Invalid value ${describeValue(value)} for ${where}`;
    const kindField = origins && source.kind === 'file' ? kindFieldOf(origins, where) : undefined;
    throw new ConfigError(
      `${what} (from ${describeSource(source)}${kindField ? `, kind field ${kindField}` : ''}): ${keyIssue?.message ?? issue.message}.`,
      { setting: setting.path, source, cause: parsed.error, hint: fixHint(setting) },
    );
  }
  const config = parsed.data;
  for (const s of settings) sources[s.path] ??= { kind: 'default' };
  checkPairs(config, sources);
  checkMode(config, sources);
  checkIpFamily(config, sources);
  checkNoCni(config, sources);
  const baseDir = file ? dirname(file) : cwd;
  checkHollowOn(config, sources, baseDir);
  normalizeNodes(config, sources, baseDir);
  normalizeRegistries(config, sources, baseDir);

  return { config, sources, file, baseDir };
}

/**
 * Worker groups decide the worker count (a different explicit cluster.numNodes is a
 * mistake), and mount host paths are made absolute, relative to the config file.
 */
function normalizeNodes(config: ResolvedConfig, sources: Record<string, ConfigSource>, baseDir: string): void {
  const groups = config.cluster.workers;
  if (groups) {
    const total = groups.reduce((sum, g) => sum + g.count, 0);
    const numNodesSource = sources['cluster.numNodes']!;
    if (numNodesSource.kind !== 'default' && config.cluster.numNodes !== total) {
      throw new ConfigError(
        `cluster.numNodes is ${config.cluster.numNodes} (from ${describeSource(numNodesSource)}) but the groups of cluster.workers add up to ${total} worker(s).`,
        { setting: 'cluster.numNodes', source: numNodesSource, hint: 'Leave cluster.numNodes unset when cluster.workers is given, or make the counts agree.' },
      );
    }
    if (total > 50) {
      throw new ConfigError(`The groups of cluster.workers add up to ${total} workers; at most 50 are supported.`, { setting: 'cluster.workers', hint: 'Lower the counts.' });
    }
    config.cluster.numNodes = total;
  }
  for (const node of [config.cluster.controlPlane, ...(groups ?? [])]) {
    for (const mount of node.extraMounts) mount.hostPath = resolve(baseDir, mount.hostPath);
  }
}

/**
 * cluster.registries: every configs entry is for a registry or mirror host the mirrors list (a
 * typo would otherwise leave a registry without its credentials, unseen), and CA files exist;
 * their paths are made absolute, relative to the config file.
 */
function normalizeRegistries(config: ResolvedConfig, sources: Record<string, ConfigSource>, baseDir: string): void {
  const { mirrors, configs } = config.cluster.registries;
  const source = sources['cluster.registries'];
  const listed = new Set([...Object.keys(mirrors), ...Object.values(mirrors).flat().map((url) => new URL(url).host)]);
  for (const [host, entry] of Object.entries(configs)) {
    const where = `cluster.registries.configs.${host}`;
    if (!listed.has(host)) {
      const what = entry.username !== undefined ? 'Credentials are given for' : 'Settings are given for';
      throw new ConfigError(`${what} registry "${host}" (${where}), which cluster.registries.mirrors does not list${listed.size ? ` (it lists ${[...listed].join(', ')})` : ''}.`, {
        setting: 'cluster.registries',
        ...(source ? { source } : {}),
        hint: `Check the host's spelling (host:port as in the mirror URL), or list it: mirrors: {"${host}": ["https://${host}"]} for a registry reached directly.`,
      });
    }
    if (entry.ca !== undefined) {
      entry.ca = resolve(baseDir, entry.ca);
      if (!existsSync(entry.ca)) {
        throw new ConfigError(`The CA file of ${where}.ca does not exist: ${entry.ca}.`, {
          setting: 'cluster.registries',
          ...(source ? { source } : {}),
          hint: 'Give the path of a PEM certificate file, relative to the config file or absolute.',
        });
      }
    }
  }
}

/** A checksum without its URL, or a URL without its checksum, is a mistake. */
function checkPairs(config: ResolvedConfig, sources: Record<string, ConfigSource>): void {
  for (const binary of ['kubeadm', 'hyperkube', 'kubectl'] as const) {
    const url = config.source[`${binary}Url`];
    const sum = config.source[`${binary}Sha1`];
    if (url && !sum) {
      const s = settingByPath(`source.${binary}Url`)!;
      throw new ConfigError(
        `source.${binary}Url (from ${describeSource(sources[s.path]!)}) needs a checksum to verify the download.`,
        { setting: s.path, source: sources[s.path], hint: `Set source.${binary}Sha1 (flag --${binary}-sha1) to its SHA-1 or SHA-256.` },
      );
    }
    if (sum && !url) {
      const s = settingByPath(`source.${binary}Sha1`)!;
      throw new ConfigError(
        `source.${binary}Sha1 (from ${describeSource(sources[s.path]!)}) is set but source.${binary}Url is not.`,
        { setting: s.path, source: sources[s.path], hint: `Set source.${binary}Url (flag --${binary}-url) or remove the checksum.` },
      );
    }
  }
}

/**
 * Services mode has no nodes: settings that shape nodes, their network plugin or what runs on
 * them conflict with it when the user set them (their defaults are ignored).
 */
/**
 * cluster.ipFamily: the IPv6 settings only with ipv6 or dual; dind.subnet6 a unique local range
 * clear of the pod and service ranges; and the parts not made for IPv6 yet refused, saying why.
 */
function checkIpFamily(config: ResolvedConfig, sources: Record<string, ConfigSource>): void {
  const family = config.cluster.ipFamily;
  const familySource = describeSource(sources['cluster.ipFamily'] ?? { kind: 'default' });
  const v6Settings = ['dind.subnet6', 'cluster.podSubnet6', 'cluster.serviceSubnet6'];
  if (family === 'ipv4') {
    for (const path of v6Settings) {
      const source = sources[path];
      if (!source || source.kind === 'default') continue;
      throw new ConfigError(`${path} (from ${describeSource(source)}) is an IPv6 range, but cluster.ipFamily is ipv4 (from ${familySource}).`, {
        setting: path,
        source,
        hint: `Add --ip-family dual (or ipv6), or remove --${settingByPath(path)!.flag} / ${path}.`,
      });
    }
    return;
  }
  const ranges = ipv6Ranges(config);
  if (ranges.node && !isUniqueLocal(ranges.node)) {
    throw new ConfigError(`dind.subnet6 ${ranges.node} is not a unique local IPv6 range (fc00::/7): the node network must not claim addresses of the Internet.`, {
      setting: 'dind.subnet6',
      source: sources['dind.subnet6'],
      hint: 'Pick a range under fd00::/8, such as fd00:10:193::/64.',
    });
  }
  for (const [path, range] of [['cluster.podSubnet6', ranges.pod], ['cluster.serviceSubnet6', ranges.service]] as const) {
    if (ranges.node && cidrsOverlapAny(ranges.node, range)) {
      throw new ConfigError(`dind.subnet6 ${ranges.node} overlaps ${path} ${range}.`, { setting: 'dind.subnet6', source: sources['dind.subnet6'], hint: 'Give the node network, the pods and the Services separate IPv6 ranges.' });
    }
  }
  if (cidrsOverlapAny(ranges.pod, ranges.service)) {
    throw new ConfigError(`cluster.podSubnet6 ${ranges.pod} overlaps cluster.serviceSubnet6 ${ranges.service}.`, { setting: 'cluster.podSubnet6', source: sources['cluster.podSubnet6'], hint: 'Give pods and Services separate IPv6 ranges.' });
  }
  const conflicts: { path: string; when: boolean; why: string }[] = [
    { path: 'cluster.mode', when: config.cluster.mode === 'services', why: 'services mode runs its API server on IPv4 only' },
    { path: 'dind.network', when: config.dind.network !== undefined, why: 'shared networks hand out IPv4 address blocks only' },
    { path: 'cluster.controlPlanes', when: config.cluster.controlPlanes > 1, why: "the control planes' load balancer is set up for IPv4 only" },
    { path: 'cluster.hollowNodes', when: config.cluster.hollowNodes > 0, why: 'hollow nodes register IPv4 addresses only' },
    { path: 'cluster.fakeNodes', when: config.cluster.fakeNodes > 0, why: 'fake nodes are given IPv4 addresses only' },
  ];
  for (const { path, when, why } of conflicts) {
    if (!when) continue;
    const source = sources[path] ?? { kind: 'default' as const };
    throw new ConfigError(`${path} (from ${describeSource(source)}) cannot go with cluster.ipFamily ${family} (from ${familySource}) yet: ${why}.`, {
      setting: path,
      source,
      hint: `Use --ip-family ipv4 for this, or drop ${path}.`,
    });
  }
}

function checkMode(config: ResolvedConfig, sources: Record<string, ConfigSource>): void {
  if (config.cluster.mode !== 'services') return;
  const modeSource = describeSource(sources['cluster.mode']!);
  const conflicts: { path: string; why: string }[] = [
    { path: 'cluster.numNodes', why: 'services mode has no worker nodes' },
    { path: 'cluster.workers', why: 'services mode has no worker nodes' },
    { path: 'cluster.controlPlanes', why: 'services mode runs one API server' },
    { path: 'cluster.cniPlugin', why: 'services mode has no nodes to give a network plugin' },
    { path: 'cluster.addons', why: 'services mode has no nodes to run addons on' },
    { path: 'cluster.hollowNodes', why: 'hollow nodes need a scheduler and node controllers; use the default mode' },
    { path: 'cluster.noDedicated', why: 'services mode has no control-plane node' },
    { path: 'cluster.kubeProxyMode', why: 'services mode runs no kube-proxy' },
    { path: 'cluster.registry', why: 'services mode has no nodes to pull images' },
    { path: 'cluster.registries', why: 'services mode has no nodes to pull images' },
  ];
  for (const { path, why } of conflicts) {
    const source = sources[path];
    if (!source || source.kind === 'default') continue;
    const setting = settingByPath(path)!;
    throw new ConfigError(
      `${path} (from ${describeSource(source)}) conflicts with cluster.mode "services" (from ${modeSource}): ${why}.`,
      {
        setting: path,
        source,
        hint: `Remove ${setting.flag ? `--${setting.flag} / ` : ''}${path}, or drop --mode services to get a cluster of nodes.`,
      },
    );
  }
}

/**
 * cluster.cniPlugin "none": no pod network until the user installs one, so nothing that runs in
 * pods can be installed or waited for by `up`. Addons the user asked for are refused; the default
 * ones are left out (`up` says so).
 */
/** Whether cluster.hollowNodesOn names a kubeconfig file rather than a local cluster. */
export function namesKubeconfig(value: string): boolean {
  return value.includes('/') || value.endsWith('.conf') || value.endsWith('.yaml') || value.endsWith('.yml') || value === 'kubeconfig';
}

/**
 * cluster.hollowNodesOn needs hollow nodes to place and another cluster; a kubeconfig path is made
 * absolute (relative to the config file); a context needs a kubeconfig.
 */
function checkHollowOn(config: ResolvedConfig, sources: Record<string, ConfigSource>, baseDir: string): void {
  const on = config.cluster.hollowNodesOn;
  const context = config.cluster.hollowNodesContext;
  const from = (path: string) => describeSource(sources[path]!);
  if (config.cluster.hollowNodesRegistry !== undefined && (on === undefined || !namesKubeconfig(on))) {
    throw new ConfigError(`cluster.hollowNodesRegistry (from ${from('cluster.hollowNodesRegistry')}) is for hollow nodes on a cluster named by a kubeconfig, but cluster.hollowNodesOn ${on === undefined ? 'is not set' : `"${on}" is a local cluster (the image is loaded into its nodes)`}.`, { setting: 'cluster.hollowNodesRegistry', hint: 'Drop --hollow-nodes-registry, or name a kubeconfig with --hollow-nodes-on.' });
  }
  if (on === undefined) {
    if (context !== undefined) throw new ConfigError(`cluster.hollowNodesContext (from ${from('cluster.hollowNodesContext')}) names a context, but cluster.hollowNodesOn names no kubeconfig.`, { setting: 'cluster.hollowNodesContext', hint: 'Add --hollow-nodes-on KUBECONFIG, or drop --hollow-nodes-context.' });
    return;
  }
  if (config.cluster.hollowNodes === 0) {
    throw new ConfigError(`cluster.hollowNodesOn (from ${from('cluster.hollowNodesOn')}) says where hollow nodes run, but cluster.hollowNodes is 0.`, { setting: 'cluster.hollowNodesOn', hint: 'Add --hollow-nodes N, or drop --hollow-nodes-on.' });
  }
  if (on === config.cluster.name) {
    throw new ConfigError(`cluster.hollowNodesOn (from ${from('cluster.hollowNodesOn')}) names this cluster ("${on}"): hollow nodes on another cluster need another cluster.`, { setting: 'cluster.hollowNodesOn', hint: 'Name another local cluster or a kubeconfig, or drop --hollow-nodes-on to run them in local containers.' });
  }
  if (namesKubeconfig(on)) config.cluster.hollowNodesOn = resolve(baseDir, on);
  else if (context !== undefined) {
    throw new ConfigError(`cluster.hollowNodesContext (from ${from('cluster.hollowNodesContext')}) names a context, but cluster.hollowNodesOn "${on}" is a local cluster, not a kubeconfig.`, { setting: 'cluster.hollowNodesContext', hint: 'Drop --hollow-nodes-context, or name a kubeconfig file (a path) with --hollow-nodes-on.' });
  }
}

function checkNoCni(config: ResolvedConfig, sources: Record<string, ConfigSource>): void {
  if (config.cluster.cniPlugin !== 'none') return;
  const addonsSource = sources['cluster.addons']!;
  if (addonsSource.kind === 'default') {
    config.cluster.addons = [];
    return;
  }
  if (config.cluster.addons.length === 0) return;
  throw new ConfigError(
    `cluster.addons (from ${describeSource(addonsSource)}) asks for ${config.cluster.addons.join(', ')}, but cluster.cniPlugin is "none" (from ${describeSource(sources['cluster.cniPlugin']!)}): addons run in pods, and pods get no network until you install a CNI.`,
    {
      setting: 'cluster.addons',
      source: addonsSource,
      hint: "Drop them (--addons '') and install what you need with `local-cluster kubectl` or `local-cluster helm` once your CNI runs, or choose a CNI plugin (--cni-plugin bridge).",
    },
  );
}

/** The JSON Schema of the config file, for editors. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'local-cluster config' };
}
