import { readFileSync, existsSync } from 'node:fs';
import { defineCommand } from 'citty';
import { ADMIN_CONF, FAKE_NODE_LABEL, HOLLOW_LABEL, isServicesNode, kubeProxyMode, LABELS, LocalClusterError, serverVersion, localClusterHome, adminKubeconfigFile, clusterDir, upCommandFor, externalCluster, hollowPodStatus, readPlacement, type Driver, type NodeHandle } from '@local-cluster/core';
import { configFromArgs, outputArgs, settingArgs } from '../settings-args.js';

/** How many of these nodes there are, and how many report Ready. */
function countReady(nodes: readonly { status: { conditions?: { type: string; status: string }[] } }[]): { total: number; ready: number } {
  return { total: nodes.length, ready: nodes.filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length };
}
import { createDriver } from '../wiring.js';
import { printTable } from '../table.js';

/** Addons as they show in a cluster: the namespace or workload each one makes. */
const ADDON_MARKS: [string, string[]][] = [
  ['storage', ['-n', 'local-path-storage', 'get', 'deployment', 'local-path-provisioner', '-o', 'name']],
  ['metrics-server', ['-n', 'kube-system', 'get', 'deployment', 'metrics-server', '-o', 'name']],
  ['dashboard', ['-n', 'local-cluster-dashboard', 'get', 'deployment', 'dashboard', '-o', 'name']],
  ['metallb', ['-n', 'metallb-system', 'get', 'deployment', 'controller', '-o', 'name']],
];

interface NodeStatus {
  name: string;
  role: string;
  container: string;
  ip: string;
  ready: string;
  version: string;
  memory: string;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/**
 * The working set of a node container's cgroup (v1 or v2), as `docker stats` and `kubectl top`
 * count it: the usage less the page cache the kernel can drop (inactive files).
 */
export function workingSetBytes(usage: number, stat: string): number {
  // v1 counts the whole hierarchy in total_inactive_file (its inactive_file is this cgroup's own); v2 has inactive_file
  const inactive = /^total_inactive_file (\d+)$/m.exec(stat) ?? /^inactive_file (\d+)$/m.exec(stat);
  return Math.max(0, usage - (inactive ? Number(inactive[1]) : 0));
}

async function memoryOf(node: NodeHandle): Promise<string> {
  const script = 'if [ -f /sys/fs/cgroup/memory/memory.usage_in_bytes ]; then d=/sys/fs/cgroup/memory; cat $d/memory.usage_in_bytes; else d=/sys/fs/cgroup; cat $d/memory.current; fi; cat $d/memory.stat';
  const r = await node.run(['sh', '-c', script]).catch(() => undefined);
  if (!r || r.exitCode !== 0) return '-';
  const [first = '', ...stat] = r.stdout.split('\n');
  const usage = Number(first.trim());
  return Number.isFinite(usage) && first.trim() ? mib(workingSetBytes(usage, stat.join('\n'))) : '-';
}

/** Where the hollow nodes run when on another cluster (cluster.hollowNodesOn), and how their pods are; a cluster gone or refusing is reported. */
async function hollowOnStatus(driver: Driver, name: string): Promise<{ on: string; namespace: string; pods: number; running: number; nodes: string[]; problem?: string } | undefined> {
  const placement = await readPlacement(clusterDir(localClusterHome(), name));
  if (!placement) return undefined;
  const on = placement.cluster ? `cluster "${placement.cluster}"` : `kubeconfig ${placement.kubeconfig}${placement.context ? ` (context ${placement.context})` : ''}`;
  try {
    const ext = await externalCluster(driver, placement, name);
    const s = await hollowPodStatus(ext, name);
    return { on, namespace: placement.namespace, ...s, ...(s.pods === 0 ? { problem: 'no hollow-node pods there (removed by `down`, or by someone else: `up` makes them again)' } : s.waiting.length ? { problem: s.waiting.join('; ') } : {}) };
  } catch (e) {
    return { on, namespace: placement.namespace, pods: 0, running: 0, nodes: [], problem: `cannot reach it: ${(e as Error).message.split('\n')[0]}` };
  }
}

export default defineCommand({
  meta: { name: 'status', description: 'Show one cluster: nodes (container, Ready, version, memory), Kubernetes version, CNI, kube-proxy mode, addons, API server, snapshot.' },
  args: { ...settingArgs(), ...outputArgs },
  async run({ args }) {
    const loaded = configFromArgs(args);
    const name = loaded.config.cluster.name;
    const driver = createDriver(loaded);
    const summary = (await driver.listClusters()).find((c) => c.name === name);
    if (!summary) throw new LocalClusterError(`There is no cluster "${name}" on this engine.`, { hint: `\`local-cluster list\` shows the clusters; \`${upCommandFor(name)}\` makes this one.` });
    const nodes = await driver.listNodes({ cluster: name, role: 'node' });
    const balancers = (await Promise.all((['load-balancer', 'hollow-nodes', 'fake-nodes', 'node-e2e'] as const).map((role) => driver.listNodes({ cluster: name, role })))).flat();
    // with several control planes, any running one answers
    const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
    const states = await Promise.all(controlPlanes.map((n) => n.state()));
    const controlPlane = controlPlanes[states.indexOf('running')] ?? controlPlanes[0];
    const running = states.includes('running');
    const kubectl = async (argv: readonly string[]) => (running ? (await controlPlane!.run(['kubectl', `--kubeconfig=${ADMIN_CONF}`, ...argv])).stdout.trim() : '');
    const k8sNodes = running
      ? ((JSON.parse((await kubectl(['get', 'nodes', '-o', 'json'])) || '{"items":[]}') as { items: { metadata: { name: string; labels?: Record<string, string> }; status: { conditions?: { type: string; status: string }[]; nodeInfo?: { kubeletVersion: string } } }[] }).items)
      : [];
    const rows: NodeStatus[] = [];
    for (const node of nodes) {
      const state = await node.state();
      const k = k8sNodes.find((n) => n.metadata.name === node.hostname);
      const ready = k?.status.conditions?.find((c) => c.type === 'Ready')?.status;
      rows.push({
        name: node.hostname,
        role: node.role ?? '-',
        container: state,
        ip: state === 'running' ? await node.ip().catch(() => '-') : '-',
        ready: ready === 'True' ? 'Ready' : ready ? 'NotReady' : '-',
        version: k?.status.nodeInfo?.kubeletVersion ?? '-',
        memory: state === 'running' ? await memoryOf(node) : '-',
      });
    }
    for (const lb of balancers) {
      const state = await lb.state();
      rows.push({ name: lb.hostname, role: lb.labels[LABELS.role] ?? '-', container: state, ip: state === 'running' ? await lb.ip().catch(() => '-') : '-', ready: '-', version: '-', memory: '-' });
    }
    const addons: string[] = [];
    for (const [addon, argv] of ADDON_MARKS) if (await kubectl(argv)) addons.push(addon);
    const kubeconfig = adminKubeconfigFile(clusterDir(localClusterHome(), name));
    const server = existsSync(kubeconfig) ? (/server:\s*(\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '-') : '-';
    const status = {
      name,
      state: !controlPlane ? (summary.snapshots ? 'down (snapshot kept)' : 'no nodes') : running ? 'running' : 'stopped',
      kubernetesVersion: running ? await serverVersion(kubectl).catch(() => '-') : '-',
      mode: controlPlane && isServicesNode(controlPlane.labels) ? 'services' : 'nodes',
      cni: controlPlane?.labels[LABELS.cni] ?? '-',
      proxyMode: running ? await kubeProxyMode(kubectl) : '-',
      addons,
      apiServer: server,
      kubeconfig: existsSync(kubeconfig) ? kubeconfig : '-',
      snapshots: summary.snapshots,
      // kubemark hollow nodes and KWOK fake nodes: Kubernetes nodes without a container of their own
      hollowNodes: countReady(k8sNodes.filter((n) => n.metadata.labels?.[HOLLOW_LABEL] === 'true')),
      hollowNodesOn: await hollowOnStatus(driver, name),
      fakeNodes: countReady(k8sNodes.filter((n) => n.metadata.labels?.[FAKE_NODE_LABEL.key] === FAKE_NODE_LABEL.value)),
      nodes: rows,
    };
    if (args.json) {
      process.stdout.write(JSON.stringify(status, null, 2) + '\n');
      return;
    }
    const out = process.stdout;
    out.write(`Cluster ${name}: ${status.state}\n`);
    out.write(
      status.mode === 'services'
        ? `  Kubernetes ${status.kubernetesVersion}, services mode: etcd, kube-apiserver, kube-controller-manager (no real nodes)\n`
        : `  Kubernetes ${status.kubernetesVersion}, CNI ${status.cni}, kube-proxy ${status.proxyMode}\n`,
    );
    for (const [what, c] of [['hollow nodes', status.hollowNodes], ['fake nodes (KWOK)', status.fakeNodes]] as const) if (c.total) out.write(`  ${what}: ${c.ready} of ${c.total} Ready\n`);
    const on = status.hollowNodesOn;
    if (on) out.write(`  hollow nodes run on ${on.on}, namespace ${on.namespace}: ${on.problem ? `PROBLEM: ${on.problem}` : `${on.running} of ${on.pods} pods Running on ${on.nodes.join(', ') || 'no node'}`}\n`);
    out.write(`  addons: ${addons.join(', ') || 'none'}\n  API server: ${server}\n  kubeconfig: ${status.kubeconfig}\n  snapshots: ${summary.snapshots}\n\n`);
    printTable(
      ['NODE', 'ROLE', 'CONTAINER', 'IP', 'STATUS', 'VERSION', 'MEMORY'],
      rows.map((r) => [r.name, r.role, r.container, r.ip, r.ready, r.version, r.memory]),
    );
  },
});
