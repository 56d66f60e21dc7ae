import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, type ConfigSource } from '../errors.js';
import { KUBEADM_KINDS } from './schema.js';

/**
 * kind's cluster config (`kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`) read as a config
 * file of ours: every field with an equivalent becomes that setting; a field without one is
 * refused, naming it and why. `local-cluster config convert FILE` prints the result.
 */

export const KIND_API_VERSION = 'kind.x-k8s.io/v1alpha4';

/** Whether a parsed YAML document is a kind cluster config (of any apiVersion of kind's). */
export function isKindConfig(doc: unknown): doc is Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const { kind, apiVersion } = doc as Record<string, unknown>;
  return kind === 'Cluster' && typeof apiVersion === 'string' && /^kind\.(x-k8s\.io|sigs\.k8s\.io)\//.test(apiVersion);
}

const stringish = z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string());

const patchJson6902 = z.strictObject({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string(),
  // kind ignores these two and keeps them for old configs; so do we
  name: z.string().optional(),
  namespace: z.string().optional(),
  patch: z.string(),
});

const kindNode = z.strictObject({
  role: z.enum(['control-plane', 'worker']).default('control-plane'),
  image: z.string().optional(),
  labels: z.record(z.string(), stringish).optional(),
  extraMounts: z
    .array(
      z.strictObject({
        containerPath: z.string(),
        hostPath: z.string(),
        readOnly: z.boolean().optional(),
        selinuxRelabel: z.boolean().optional(),
        propagation: z.enum(['None', 'HostToContainer', 'Bidirectional']).optional(),
      }),
    )
    .optional(),
  extraPortMappings: z
    .array(
      z.strictObject({
        containerPort: z.number().int(),
        hostPort: z.number().int().optional(),
        listenAddress: z.string().optional(),
        protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
      }),
    )
    .optional(),
  gpus: z.string().optional(),
  kubeadmConfigPatches: z.array(z.string()).optional(),
  kubeadmConfigPatchesJSON6902: z.array(patchJson6902).optional(),
});

export const kindClusterSchema = z.strictObject({
  kind: z.literal('Cluster'),
  apiVersion: z.literal(KIND_API_VERSION),
  name: z.string().optional(),
  nodes: z.array(kindNode).optional(),
  networking: z
    .strictObject({
      ipFamily: z.enum(['ipv4', 'ipv6', 'dual']).optional(),
      apiServerPort: z.number().int().optional(),
      apiServerAddress: z.string().optional(),
      podSubnet: z.string().optional(),
      serviceSubnet: z.string().optional(),
      disableDefaultCNI: z.boolean().optional(),
      kubeProxyMode: z.enum(['iptables', 'ipvs', 'nftables', 'none']).optional(),
      dnsSearch: z.array(z.string()).optional(),
    })
    .optional(),
  featureGates: z.record(z.string(), z.boolean()).optional(),
  runtimeConfig: z.record(z.string(), stringish).optional(),
  kubeadmConfigPatches: z.array(z.string()).optional(),
  kubeadmConfigPatchesJSON6902: z.array(patchJson6902).optional(),
  containerdConfigPatches: z.array(z.string()).optional(),
  containerdConfigPatchesJSON6902: z.array(z.string()).optional(),
});

export type KindCluster = z.output<typeof kindClusterSchema>;
type KindNode = KindCluster extends { nodes?: (infer N)[] } ? N : never;
type Doc = Record<string, unknown>;

/** One of our kubeadm patches, as the config file writes it. */
interface OurPatch {
  kind: string;
  merge?: Doc;
  jsonPatch?: Doc[];
}

/** What a kind config converts to, and which kind field each of our settings came from. */
export interface KindConversion {
  /** The equivalent config of ours, as a config file would hold it. */
  config: Doc;
  /** Our setting path prefix -> the kind field it came from (longest prefix first), for messages. */
  origins: [string, string][];
}

/** kind's field path as kind's docs write it: nodes[1].extraMounts[0].hostPath. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

function refuse(file: string, field: string, why: string, hint: string, setting = field): never {
  const source: ConfigSource = { kind: 'file', path: file };
  throw new ConfigError(`kind config ${file}: ${field} ${why}.`, { setting, source, hint });
}

function parseKind(doc: Doc, file: string): KindCluster {
  if (doc.apiVersion !== KIND_API_VERSION) {
    refuse(file, 'apiVersion', `is ${JSON.stringify(doc.apiVersion)}; only kind's ${KIND_API_VERSION} config is read`, `Write it in ${KIND_API_VERSION} (kind's current config version; kind's docs list what changed) and set apiVersion: ${KIND_API_VERSION}.`);
  }
  const parsed = kindClusterSchema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((k) => fieldPath([...issue.path, k]));
    refuse(
      file,
      fields.length === 1 ? `field ${fields[0]}` : `fields ${fields.join(', ')}`,
      `${fields.length === 1 ? 'is' : 'are'} not part of kind's ${KIND_API_VERSION} Cluster config (from another apiVersion, or misspelled)`,
      `Remove or rename ${fields.length === 1 ? 'it' : 'them'}; docs/user/kind-configs.md lists the fields of ${KIND_API_VERSION} and what each becomes.`,
      fields[0],
    );
  }
  refuse(file, fieldPath(issue.path) || '(the document)', `is invalid: ${issue.message}`, `Fix it as kind's ${KIND_API_VERSION} config reference describes.`);
}

/** kind's kubeadmConfigPatches entry: a YAML (or JSON) document with a kubeadm `kind`. */
function parseMergePatch(text: string, field: string, file: string): Doc {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (cause) {
    refuse(file, field, `is not valid YAML: ${(cause as { reason?: string }).reason ?? String(cause)}`, 'Fix the YAML of that patch.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) refuse(file, field, 'is not a YAML mapping', 'Write the patch as a partial kubeadm document with its kind: field.');
  const kind = (doc as Doc).kind;
  if (typeof kind !== 'string' || !(KUBEADM_KINDS as readonly string[]).includes(kind)) {
    refuse(file, field, `patches kind ${JSON.stringify(kind)}, which is not a kubeadm document local-cluster renders`, `Use one of ${KUBEADM_KINDS.join(', ')}.`);
  }
  return doc as Doc;
}

function parseJsonPatch(patch: z.output<typeof patchJson6902>, field: string, file: string): OurPatch {
  if (!(KUBEADM_KINDS as readonly string[]).includes(patch.kind)) {
    refuse(file, `${field}.kind`, `is ${JSON.stringify(patch.kind)}, which is not a kubeadm document local-cluster renders`, `Use one of ${KUBEADM_KINDS.join(', ')}.`);
  }
  let ops: unknown;
  try {
    ops = yaml.load(patch.patch);
  } catch (cause) {
    refuse(file, `${field}.patch`, `is not valid YAML: ${(cause as { reason?: string }).reason ?? String(cause)}`, 'Fix the YAML of that patch.');
  }
  if (!Array.isArray(ops) || ops.some((op) => typeof op !== 'object' || op === null || Array.isArray(op))) {
    refuse(file, `${field}.patch`, 'is not a list of RFC 6902 operations', 'Write it as a YAML list such as [{op: add, path: /a/b, value: 1}].');
  }
  return { kind: patch.kind, jsonPatch: ops as Doc[] };
}

/** Flags kind wrote as a map (kubeadm v1beta3) or a list of {name, value} (v1beta4), as a flat map. */
function argsOf(value: unknown): Record<string, string> | undefined {
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === 'object' && v !== null && 'name' in v)) return undefined;
    return Object.fromEntries(value.map((v: { name: unknown; value?: unknown }) => [String(v.name), String(v.value ?? '')]));
  }
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  return undefined;
}

/** What one kubeadm merge patch of kind's becomes here. */
interface SplitPatch {
  /** Flags lifted into cluster.componentArgs (ClusterConfiguration's apiServer/controllerManager/scheduler extraArgs). */
  componentArgs: Partial<Record<'apiServer' | 'controllerManager' | 'scheduler', Record<string, string>>>;
  /** node-labels lifted into the node's labels. */
  labels: Record<string, string>;
  /** The rest: a merge patch, and appended flags as JSON patch operations. */
  patches: OurPatch[];
}

/**
 * Splits a kind kubeadm merge patch. The kubeadm documents here are v1beta4, whose extraArgs are
 * lists of {name, value}: a merge patch with a map there (kind's v1beta3 examples) would replace
 * our flags (node-ip among them), so flags become componentArgs, node labels or appended
 * list entries instead; everything else stays a merge patch. `liftComponents`: the patch
 * reaches the cluster's ClusterConfiguration (cluster-level, or a control plane's own);
 * `liftLabels`: the patch is a node's own and reaches that node's Init/JoinConfiguration.
 */
function splitMergePatch(doc: Doc, opts: { liftComponents: boolean; liftLabels: boolean }): SplitPatch {
  const kind = doc.kind as string;
  const rest: Doc = structuredClone(doc);
  delete rest.kind;
  // kind matches apiVersion when given; here every document has one version per kind
  delete rest.apiVersion;
  const out: SplitPatch = { componentArgs: {}, labels: {}, patches: [] };
  const ops: Doc[] = [];
  if (kind === 'ClusterConfiguration') {
    for (const component of ['apiServer', 'controllerManager', 'scheduler'] as const) {
      const section = rest[component] as Doc | undefined;
      const args = argsOf(section?.extraArgs);
      if (!section || !args) continue;
      if (opts.liftComponents) out.componentArgs[component] = args;
      else for (const [name, value] of Object.entries(args)) ops.push({ op: 'add', path: `/${component}/extraArgs/-`, value: { name, value } });
      delete section.extraArgs;
      if (Object.keys(section).length === 0) delete rest[component];
    }
    const etcdLocal = (rest.etcd as Doc | undefined)?.local as Doc | undefined;
    const etcdArgs = argsOf(etcdLocal?.extraArgs);
    if (etcdLocal && etcdArgs) {
      for (const [name, value] of Object.entries(etcdArgs)) ops.push({ op: 'add', path: '/etcd/local/extraArgs/-', value: { name, value } });
      delete etcdLocal.extraArgs;
    }
  }
  if (kind === 'InitConfiguration' || kind === 'JoinConfiguration') {
    const registration = rest.nodeRegistration as Doc | undefined;
    const args = argsOf(registration?.kubeletExtraArgs);
    if (registration && args) {
      for (const [name, value] of Object.entries(args)) {
        if (name === 'node-labels' && opts.liftLabels) {
          for (const pair of value.split(',').map((s) => s.trim()).filter(Boolean)) {
            const eq = pair.indexOf('=');
            out.labels[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1);
          }
        } else ops.push({ op: 'add', path: '/nodeRegistration/kubeletExtraArgs/-', value: { name, value } });
      }
      delete registration.kubeletExtraArgs;
      if (Object.keys(registration).length === 0) delete rest.nodeRegistration;
    }
  }
  if (Object.keys(rest).length > 0) out.patches.push({ kind, merge: rest });
  if (ops.length > 0) out.patches.push({ kind, jsonPatch: ops });
  return out;
}

/** Our node settings for one kind node (labels, mounts, ports, patches), refusing what has no equivalent. */
function nodeSettingsOf(node: KindNode, i: number, file: string, opts: { firstControlPlane: boolean }): { settings: Doc; componentArgs: SplitPatch['componentArgs'] } {
  const at = `nodes[${i}]`;
  if (node.image !== undefined) {
    const tag = /:(v\d+\.\d+\.\d+)(@|$)/.exec(node.image)?.[1];
    refuse(
      file,
      `${at}.image`,
      'has no equivalent: local-cluster builds its node image itself, from the Kubernetes version you name',
      `Remove it and set source.kubernetesVersion (flag --kubernetes-version, env LOCAL_CLUSTER_KUBERNETES_VERSION)${tag ? ` to ${tag}` : ''}; every node runs that version.`,
    );
  }
  if (node.gpus !== undefined) refuse(file, `${at}.gpus`, 'has no equivalent: local-cluster passes no GPUs to nodes', 'Remove it.');
  const settings: Doc = {};
  const labels: Record<string, string> = { ...(node.labels ?? {}) };
  (node.extraMounts ?? []).forEach((m, j) => {
    if (m.selinuxRelabel) refuse(file, `${at}.extraMounts[${j}].selinuxRelabel`, 'has no equivalent: local-cluster mounts without SELinux relabeling', 'Remove it, or relabel the host path yourself (chcon).');
    if (m.propagation && m.propagation !== 'None') refuse(file, `${at}.extraMounts[${j}].propagation`, `is ${m.propagation}, which has no equivalent: local-cluster mounts with the default (private) propagation`, 'Remove it (or set None).');
  });
  if (node.extraMounts?.length) settings.extraMounts = node.extraMounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, ...(m.readOnly ? { readOnly: true } : {}) }));
  (node.extraPortMappings ?? []).forEach((p, j) => {
    if (p.protocol === 'SCTP') refuse(file, `${at}.extraPortMappings[${j}].protocol`, 'is SCTP, which has no equivalent: port mappings here are TCP or UDP', 'Use TCP or UDP.');
    if (!p.hostPort || p.hostPort < 0) refuse(file, `${at}.extraPortMappings[${j}].hostPort`, 'is unset (a random host port), which has no equivalent: a mapping here names its host port', 'Write the host port to use.');
  });
  if (node.extraPortMappings?.length) {
    settings.extraPortMappings = node.extraPortMappings.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, ...(p.listenAddress ? { listenAddress: p.listenAddress } : {}), ...(p.protocol ? { protocol: p.protocol } : {}) }));
  }
  const patches: OurPatch[] = [];
  const componentArgs: SplitPatch['componentArgs'] = {};
  // a node's own patches reach the documents that node gets: InitConfiguration (and the cluster's
  // documents) on the first control plane, JoinConfiguration on every other node
  const ownDoc = opts.firstControlPlane ? 'InitConfiguration' : 'JoinConfiguration';
  (node.kubeadmConfigPatches ?? []).forEach((text, j) => {
    const doc = parseMergePatch(text, `${at}.kubeadmConfigPatches[${j}]`, file);
    const split = splitMergePatch(doc, { liftComponents: opts.firstControlPlane, liftLabels: doc.kind === ownDoc });
    Object.assign(labels, split.labels);
    for (const [c, args] of Object.entries(split.componentArgs)) componentArgs[c as keyof typeof componentArgs] = { ...componentArgs[c as keyof typeof componentArgs], ...args };
    patches.push(...split.patches);
  });
  (node.kubeadmConfigPatchesJSON6902 ?? []).forEach((p, j) => patches.push(parseJsonPatch(p, `${at}.kubeadmConfigPatchesJSON6902[${j}]`, file)));
  if (Object.keys(labels).length) settings.labels = labels;
  if (patches.length) settings.kubeadmPatches = patches;
  return { settings, componentArgs };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Converts a kind cluster config into the equivalent config of ours. Throws ConfigError naming
 * the kind field (and why) for anything without an equivalent or outside kind's v1alpha4.
 */
export function convertKindConfig(doc: Doc, file: string): KindConversion {
  const kind = parseKind(doc, file);
  const cluster: Doc = {};
  const origins: [string, string][] = [];
  const componentArgs: Record<string, Record<string, string>> = {};
  const kubeadmPatches: OurPatch[] = [];
  const addArgs = (args: SplitPatch['componentArgs'], field: string) => {
    for (const [c, flags] of Object.entries(args)) {
      componentArgs[c] = { ...componentArgs[c], ...flags };
      origins.push([`cluster.componentArgs.${c}`, field]);
    }
  };

  if (kind.name !== undefined) {
    cluster.name = kind.name;
    origins.push(['cluster.name', 'name']);
  }

  const net = kind.networking ?? {};
  if (net.ipFamily !== undefined) {
    cluster.ipFamily = net.ipFamily;
    origins.push(['cluster.ipFamily', 'networking.ipFamily']);
  }
  if (net.dnsSearch !== undefined) refuse(file, 'networking.dnsSearch', "has no equivalent: nodes keep the host's DNS search domains", 'Remove it.');
  if (net.kubeProxyMode === 'none') refuse(file, 'networking.kubeProxyMode', 'is none, which has no equivalent: every cluster here runs kube-proxy', 'Remove it or set iptables or nftables.');
  // kind writes a dual-stack range as "v4,v6" and an IPv6 one alone: each family to its setting
  for (const field of ['podSubnet', 'serviceSubnet'] as const) {
    const value = net[field];
    if (value === undefined) continue;
    for (const range of value.split(',').map((r) => r.trim()).filter(Boolean)) {
      const to = range.includes(':') ? `${field}6` : field;
      cluster[to] = range;
      origins.push([`cluster.${to}`, `networking.${field}`]);
    }
  }
  const netMap: [keyof typeof net, string][] = [
    ['apiServerAddress', 'apiServerAddress'],
    ['kubeProxyMode', 'kubeProxyMode'],
  ];
  for (const [from, to] of netMap) {
    if (net[from] === undefined) continue;
    cluster[to] = net[from];
    origins.push([`cluster.${to}`, `networking.${from}`]);
  }
  // 0 and -1: a port picked for you, which is our default
  if (net.apiServerPort !== undefined && net.apiServerPort > 0) {
    cluster.apiServerPort = net.apiServerPort;
    origins.push(['cluster.apiServerPort', 'networking.apiServerPort']);
  }
  if (net.disableDefaultCNI) {
    cluster.cniPlugin = 'none';
    origins.push(['cluster.cniPlugin', 'networking.disableDefaultCNI']);
  } else {
    // kind's clusters come with its default StorageClass (local-path) and nothing else
    cluster.addons = ['storage'];
  }

  if (kind.featureGates && Object.keys(kind.featureGates).length) {
    cluster.featureGates = kind.featureGates;
    origins.push(['cluster.featureGates', 'featureGates']);
  }
  if (kind.runtimeConfig && Object.keys(kind.runtimeConfig).length) {
    cluster.runtimeConfig = kind.runtimeConfig;
    origins.push(['cluster.runtimeConfig', 'runtimeConfig']);
  }
  (kind.kubeadmConfigPatches ?? []).forEach((text, i) => {
    const field = `kubeadmConfigPatches[${i}]`;
    const split = splitMergePatch(parseMergePatch(text, field, file), { liftComponents: true, liftLabels: false });
    addArgs(split.componentArgs, field);
    for (const p of split.patches) origins.push([`cluster.kubeadmPatches[${kubeadmPatches.push(p) - 1}]`, field]);
  });
  (kind.kubeadmConfigPatchesJSON6902 ?? []).forEach((p, i) => {
    const field = `kubeadmConfigPatchesJSON6902[${i}]`;
    origins.push([`cluster.kubeadmPatches[${kubeadmPatches.push(parseJsonPatch(p, field, file)) - 1}]`, field]);
  });
  for (const field of ['containerdConfigPatches', 'containerdConfigPatchesJSON6902'] as const) {
    if (kind[field]?.length) {
      refuse(file, field, "has no equivalent: local-cluster does not patch the nodes' containerd configuration as TOML", 'Remove it. Registry mirrors, plain-HTTP registries, CAs and credentials are `cluster.registries` in a local-cluster config, and a local registry is `cluster.registry` (docs/user/registry.md).');
    }
  }

  // nodes: kind's default is one control plane and no workers
  const nodes = kind.nodes?.length ? kind.nodes : [{ role: 'control-plane' as const }];
  // every node's fields without an equivalent first, in the file's order
  nodes.forEach((n, i) => nodeSettingsOf(n, i, file, { firstControlPlane: false }));
  const controlPlanes = nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.role === 'control-plane');
  const workers = nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.role === 'worker');
  if (controlPlanes.length === 0) refuse(file, 'nodes', 'has no control-plane node', 'Add a node with role: control-plane.');
  if (controlPlanes.length > 1) cluster.controlPlanes = controlPlanes.length;
  const first = controlPlanes[0]!;
  const cp = nodeSettingsOf(first.n, first.i, file, { firstControlPlane: true });
  addArgs(cp.componentArgs, `nodes[${first.i}].kubeadmConfigPatches`);
  for (const { n, i } of controlPlanes.slice(1)) {
    // every control plane shares cluster.controlPlane here; only the first publishes ports
    const other = nodeSettingsOf(n, i, file, { firstControlPlane: false });
    for (const key of ['labels', 'extraMounts'] as const) {
      if (!same(other.settings[key], cp.settings[key])) {
        refuse(file, `nodes[${i}].${key}`, `differs from the first control plane's (nodes[${first.i}]): local-cluster gives every control plane the same settings (cluster.controlPlane)`, `Give every control-plane node the same ${key}.`);
      }
    }
    if (n.extraPortMappings?.length) refuse(file, `nodes[${i}].extraPortMappings`, `maps ports on a control plane other than the first: only the first control plane (nodes[${first.i}]) publishes ports here`, `Move the mappings to nodes[${first.i}].`);
    if (n.kubeadmConfigPatches?.length || n.kubeadmConfigPatchesJSON6902?.length) {
      refuse(file, `nodes[${i}].kubeadmConfigPatches`, `patches a control plane other than the first: control planes share one kubeadmPatches setting here (cluster.controlPlane.kubeadmPatches)`, `Move the patches to nodes[${first.i}] (JoinConfiguration patches there reach the other control planes) or to the cluster-level kubeadmConfigPatches.`);
    }
  }
  if (Object.keys(cp.settings).length) {
    cluster.controlPlane = cp.settings;
    origins.push(['cluster.controlPlane', `nodes[${first.i}]`]);
  }

  if (workers.length === 0) {
    cluster.numNodes = 0;
    origins.push(['cluster.numNodes', 'nodes']);
  } else {
    // consecutive workers with the same settings become one group (count N)
    const groups: { settings: Doc; count: number; field: number }[] = [];
    for (const { n, i } of workers) {
      const { settings } = nodeSettingsOf(n, i, file, { firstControlPlane: false });
      const last = groups[groups.length - 1];
      if (last && same(last.settings, settings) && !settings.extraPortMappings) last.count++;
      else groups.push({ settings, count: 1, field: i });
    }
    if (groups.length === 1 && Object.keys(groups[0]!.settings).length === 0) {
      cluster.numNodes = groups[0]!.count;
      origins.push(['cluster.numNodes', 'nodes']);
    } else {
      cluster.workers = groups.map((g, k) => {
        origins.push([`cluster.workers[${k}]`, `nodes[${g.field}]`]);
        return { ...(g.count > 1 ? { count: g.count } : {}), ...g.settings };
      });
    }
  }
  if (Object.keys(componentArgs).length) cluster.componentArgs = componentArgs;
  if (kubeadmPatches.length) cluster.kubeadmPatches = kubeadmPatches;
  origins.sort((a, b) => b[0].length - a[0].length);
  // in the order a person reads a cluster: what it is, its network, its components, its nodes
  const order = ['name', 'controlPlanes', 'numNodes', 'cniPlugin', 'podSubnet', 'serviceSubnet', 'kubeProxyMode', 'apiServerAddress', 'apiServerPort', 'featureGates', 'runtimeConfig', 'componentArgs', 'kubeadmPatches', 'controlPlane', 'workers', 'addons'];
  const ordered = Object.fromEntries([...order.filter((k) => k in cluster).map((k) => [k, cluster[k]]), ...Object.entries(cluster).filter(([k]) => !order.includes(k))]);
  return { config: { cluster: ordered }, origins };
}

/** The kind field a setting path of the converted config came from: cluster.workers[0].labels -> nodes[2].labels. */
export function kindFieldOf(origins: readonly [string, string][], settingPath: string): string | undefined {
  for (const [ours, theirs] of origins) {
    if (settingPath === ours) return theirs;
    if (settingPath.startsWith(ours + '.') || settingPath.startsWith(ours + '[')) {
      const rest = settingPath.slice(ours.length);
      // a node's fields keep their names (labels, extraMounts...); others name just the kind field
      return ours.startsWith('cluster.workers[') || ours === 'cluster.controlPlane' ? theirs + rest : theirs;
    }
  }
  return undefined;
}
