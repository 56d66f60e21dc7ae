/** Runs kubectl against the cluster (on the control plane, or the host). */
export type Kubectl = (args: readonly string[], stdin?: string) => Promise<string>;

/**
 * Facts a running cluster tells through its API, read the same way by every command
 * (netcheck, status, dashboard, e2e, addAddon).
 */

/** The API server's version, e.g. v1.34.4. */
export async function serverVersion(kubectl: Kubectl): Promise<string> {
  return (JSON.parse(await kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
}

/** kube-proxy's mode from its ConfigMap (empty means its default, iptables). */
export async function kubeProxyMode(kubectl: Kubectl): Promise<string> {
  const config = await kubectl(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'jsonpath={.data.config\\.conf}']).catch(() => '');
  return /^mode:\s*"?(\w*)"?/m.exec(config)?.[1] || 'iptables';
}

/** The pod subnet kubeadm was given (the first, on a dual-stack list), if it can be read. */
export async function clusterPodSubnet(kubectl: Kubectl): Promise<string | undefined> {
  const config = await kubectl(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}']).catch(() => '');
  return /podSubnet:\s*(\S+)/.exec(config)?.[1]?.split(',')[0];
}

/** The Service subnets kubeadm was given, one per address family (dual stack: two), primary first. */
export async function clusterServiceSubnets(kubectl: Kubectl): Promise<string[]> {
  const config = await kubectl(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}']).catch(() => '');
  return (/serviceSubnet:\s*(\S+)/.exec(config)?.[1] ?? '').split(',').filter(Boolean);
}

/** The pod subnets kubeadm was given, one per address family, primary first. */
export async function clusterPodSubnets(kubectl: Kubectl): Promise<string[]> {
  const config = await kubectl(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}']).catch(() => '');
  return (/podSubnet:\s*(\S+)/.exec(config)?.[1] ?? '').split(',').filter(Boolean);
}

/** The address families of a running cluster (from its Service subnets): ['ipv4'] unless it was made with another cluster.ipFamily. */
export async function clusterFamilies(kubectl: Kubectl): Promise<('ipv4' | 'ipv6')[]> {
  const subnets = await clusterServiceSubnets(kubectl);
  const families = subnets.map((s) => (s.includes(':') ? ('ipv6' as const) : ('ipv4' as const)));
  return families.length ? families : ['ipv4'];
}

/**
 * Nodes that run real pods: not kubemark hollow nodes (a fake runtime) nor KWOK fake nodes (no
 * kubelet at all), whose pods exist only as API objects.
 */
export const REAL_NODES_SELECTOR = '!local-cluster.dev/hollow-node,type!=kwok';

/** Every real node's name and InternalIP (the first; `ips`: one per family), in one read (the network checks put a pod on each). */
export async function nodeAddresses(kubectl: Kubectl): Promise<{ name: string; ip: string; ips: string[] }[]> {
  const lines = (await kubectl(['get', 'nodes', '-l', REAL_NODES_SELECTOR, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}'])).trim();
  return lines
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p[0])
    .map(([name, ip, ...more]) => ({ name: name!, ip: ip ?? '', ips: [ip ?? '', ...more] }));
}
