import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../contracts/context.js';
import type { Driver, NodeHandle } from '../contracts/driver.js';
import { LocalClusterError } from '../errors.js';
import { ADMIN_CONF, controlPlaneOf } from './context.js';
import { upCommandFor } from './naming.js';
import { isServicesNode } from './services.js';
import { extractTar } from '../nodeutil.js';

export interface ExportLogsOptions {
  driver: Driver;
  cluster: string;
  /** Directory to write into (made if missing). */
  dir: string;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface ExportLogsResult {
  dir: string;
  files: string[];
}

/** Text files every running node gives: journal, kubelet and containerd units, containers, network state. */
const NODE_COMMANDS: [string, string[]][] = [
  ['journal.log', ['journalctl', '--no-pager', '-o', 'short-precise']],
  ['kubelet.log', ['journalctl', '--no-pager', '-o', 'short-precise', '-u', 'kubelet']],
  ['containerd.log', ['journalctl', '--no-pager', '-o', 'short-precise', '-u', 'containerd']],
  ['crictl-ps.txt', ['crictl', 'ps', '-a']],
  ['crictl-pods.txt', ['crictl', 'pods']],
  ['images.txt', ['crictl', 'images']],
  ['network.txt', ['sh', '-c', 'ip -d addr; echo; ip route show table all; echo; nft list ruleset; echo; iptables-save']],
  ['kubelet-config.yaml', ['cat', '/var/lib/kubelet/config.yaml']],
  ['systemd-units.txt', ['systemctl', 'list-units', '--all', '--no-pager']],
];

/** A services-mode container: its components' logs (no systemd, kubelet or containerd). */
const SERVICES_COMMANDS: [string, string[]][] = [['components.log', ['sh', '-c', 'for f in /var/log/local-cluster/*.log; do echo "=== $f"; cat "$f"; done']]];

async function nodeLogs(node: NodeHandle, dir: string, signal: AbortSignal | undefined, files: string[]): Promise<void> {
  const options = signal ? { signal } : {};
  await mkdir(dir, { recursive: true });
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    files.push(join(dir, name));
  };
  // the container's own output (the entrypoint, systemd) is there even when it is not running
  await write('container.log', await node.logs(options).catch((e: Error) => `(no container log: ${e.message})\n`));
  if ((await node.state(options)) !== 'running') return;
  for (const [name, argv] of isServicesNode(node.labels) ? SERVICES_COMMANDS : NODE_COMMANDS) {
    const r = await node.run(argv, options).catch((e: Error) => ({ stdout: '', stderr: e.message, exitCode: 1 }));
    await write(name, r.stdout + (r.stderr ? `\n--- stderr ---\n${r.stderr}` : ''));
  }
  if (isServicesNode(node.labels)) return;
  // every pod's container logs, as the kubelet keeps them
  for (const path of ['/var/log/pods', '/var/log/containers']) {
    const tar = await node.copyOut(path, options).catch(() => undefined);
    if (tar) await extractTar(tar, dir).catch(() => undefined);
  }
}

/**
 * `export logs`: what a bug report about the cluster needs, like `kind export logs`: per node
 * the container's log, the journal, kubelet and containerd logs, containers, images, network
 * state and pod logs; for the cluster, `kubectl cluster-info dump` of every namespace.
 */
export async function exportLogs(options: ExportLogsOptions): Promise<ExportLogsResult> {
  const { driver, cluster, dir, signal } = options;
  const nodes = await driver.listNodes({ cluster, role: 'node' }, signal ? { signal } : {});
  if (nodes.length === 0) {
    throw new LocalClusterError(`Cluster "${cluster}" has no node containers, so there are no logs to export.`, { hint: `Bring it up with \`${upCommandFor(cluster)}\`, or check the name with \`local-cluster list\`.` });
  }
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const node of nodes) {
    options.logger?.info(`logs of ${node.hostname}`);
    await nodeLogs(node, join(dir, node.hostname), signal, files);
  }
  // the API servers' load balancer (several control planes): its container log (HAProxy's)
  for (const lb of await driver.listNodes({ cluster, role: 'load-balancer' }, signal ? { signal } : {})) {
    const file = join(dir, lb.hostname, 'container.log');
    await mkdir(join(dir, lb.hostname), { recursive: true });
    await writeFile(file, await lb.logs(signal ? { signal } : {}).catch((e: Error) => e.message));
    files.push(file);
  }
  const controlPlane = nodes.find((n) => n.role === 'control-plane') ? controlPlaneOf(nodes) : undefined;
  if (controlPlane && (await controlPlane.state(signal ? { signal } : {})) === 'running') {
    options.logger?.info('cluster-info dump');
    // on the node's /var volume: the engine cannot copy out of /tmp (a tmpfs)
    const remote = '/var/tmp/local-cluster-cluster-info';
    const dump = await controlPlane.run(['sh', '-c', `rm -rf ${remote} && kubectl --kubeconfig=${ADMIN_CONF} cluster-info dump --all-namespaces --output-directory=${remote} >/dev/null`], signal ? { signal } : {});
    if (dump.exitCode === 0) {
      const tar = await controlPlane.copyOut(remote, signal ? { signal } : {});
      await extractTar(tar, dir);
      files.push(join(dir, 'local-cluster-cluster-info'));
      await controlPlane.run(['rm', '-rf', remote]);
    } else {
      await writeFile(join(dir, 'cluster-info-dump-failed.txt'), dump.stdout + dump.stderr);
    }
    const overview = await controlPlane.run(['kubectl', `--kubeconfig=${ADMIN_CONF}`, 'get', 'nodes,pods,services,events', '-A', '-o', 'wide'], signal ? { signal } : {});
    await writeFile(join(dir, 'overview.txt'), overview.stdout + overview.stderr);
    files.push(join(dir, 'overview.txt'));
  }
  return { dir, files };
}
