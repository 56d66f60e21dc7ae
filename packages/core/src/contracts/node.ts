/**
 * The contract between core (and plugins) and the node image: paths, units and
 * variables both sides use. The node image's files are tested against these
 * (images/test), so a rename on one side fails a test instead of a cluster.
 */
export const NODE_CONTRACT = {
  /** Written by the preload unit once every baked-in image is in containerd. */
  preloadStamp: '/var/lib/local-cluster/images-preloaded',
  /** Images loaded into the node after it was made, one `ref image-id` line each (engine image IDs). */
  loadedImagesRecord: '/var/lib/local-cluster/loaded-images',
  /** The systemd unit that imports the baked-in images at first boot. */
  preloadUnit: 'local-cluster-preload.service',
  /** Container environment variable telling the entrypoint the node's role. */
  nodeRoleEnv: 'LOCAL_CLUSTER_NODE_ROLE',
  /** Scripts (*.sh) the entrypoint runs at every container start, before systemd (routes, iptables rules). */
  entrypointHookDir: '/etc/local-cluster/entrypoint.d',
  /** kubeadm in the node image. */
  kubeadm: '/usr/bin/kubeadm',
  /** Where CNI plugins install their binaries (containerd's CNI bin_dir; Debian's plugins are linked there). */
  cniBinDir: '/opt/cni/bin',
  /** Where CNI configs go. */
  cniConfDir: '/etc/cni/net.d',
  /** A busybox image every node has (sh, httpd, wget, nslookup, nc), for checks; pods use it with imagePullPolicy Never. */
  toolboxImage: 'docker.io/local-cluster/toolbox:1',
} as const;
