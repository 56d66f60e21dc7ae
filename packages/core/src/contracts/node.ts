/**
 * The contract between core (and plugins) and the node image: paths, units and
 * variables both sides use. The node image's files are tested against these
 * (images/test), so a rename on one side fails a test instead of a cluster.
 */
export const NODE_CONTRACT = {
  /** Lists the images in the node's containerd; the node image ships it with its seeded store (/var is filled from the image). */
  preloadStamp: '/var/lib/local-cluster/images-preloaded',
  /** Images loaded into the node after it was made, one `ref image-id` line each (engine image IDs). */
  loadedImagesRecord: '/var/lib/local-cluster/loaded-images',
  /** Container environment variable telling the entrypoint the node's role. */
  nodeRoleEnv: 'LOCAL_CLUSTER_NODE_ROLE',
  /** Scripts (*.sh) the entrypoint runs at every container start, before systemd (routes, iptables rules). */
  entrypointHookDir: '/etc/local-cluster/entrypoint.d',
  /** kubeadm in the node image. */
  kubeadm: '/usr/bin/kubeadm',
  /** Where CNI plugins install their binaries (containerd's CNI bin_dir; Debian's plugins are linked there). */
  cniBinDir: '/opt/cni/bin',
  /** containerd's config_path: one directory per registry name holding its hosts.toml (read at each pull, no restart). */
  registryHostsDir: '/etc/containerd/certs.d',
  /** Where CNI configs go. */
  cniConfDir: '/etc/cni/net.d',
  /** A busybox image every node has (sh, httpd, wget, nslookup, nc), for checks; pods use it with imagePullPolicy Never. */
  toolboxImage: 'docker.io/local-cluster/toolbox:1',
} as const;

/**
 * The capabilities a node container gets when it does not run privileged (the default): what
 * systemd, containerd, runc nesting pod containers, the kubelet, kube-proxy and the built-in CNIs
 * use. Left out, so that no pod can reach them either (a pod's capabilities are bounded by its
 * node's): SYS_MODULE (host kernel modules), SYS_RAWIO (I/O ports, raw devices), SYS_TIME (the
 * host's clock), SYS_BOOT, SYS_PACCT, SYS_TTY_CONFIG, LINUX_IMMUTABLE, MAC_ADMIN, MAC_OVERRIDE,
 * WAKE_ALARM, BLOCK_SUSPEND, AUDIT_CONTROL, NET_BROADCAST, LEASE, BPF, PERFMON, CHECKPOINT_RESTORE,
 * and SYS_RESOURCE (which the VMs this runs on do not grant). A CNI plugin that needs more names
 * them in its nodeCapabilities. SYSLOG stays: the kubelet's OOM watcher reads /dev/kmsg, which
 * hosts with kernel.dmesg_restrict=1 allow only with it.
 */
export const NODE_CAPABILITIES = [
  'AUDIT_READ', 'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'MKNOD',
  'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_CHROOT', 'SYS_NICE', 'SYS_PTRACE', 'SYSLOG',
] as const;

/** A CNI plugin's nodeCapabilities as Docker takes them (validated plugins name only real ones). */
export function extraNodeCapabilities(names: readonly string[] = []): string[] {
  return names.map((c) => capabilityName(c) ?? c);
}

/** A capability name as Docker takes it (no CAP_ prefix, upper case), or undefined if it is not one. */
export function capabilityName(name: string): string | undefined {
  const bare = name.trim().toUpperCase().replace(/^CAP_/, '');
  return /^[A-Z][A-Z_]*$/.test(bare) ? bare : undefined;
}
