import { join } from 'node:path';
import { LABELS, type NodeRole, type ObjectRole } from '../contracts/driver.js';

/** Names and labels of a cluster's Docker objects, in one place. */
export const CONTROL_PLANE_HOSTNAME = 'kube-master';
export const API_SERVER_PORT = 6443;

export function workerHostname(index: number): string {
  return `kube-node-${index}`;
}

/** The i-th control plane (0-based): kube-master, kube-master-2, kube-master-3, ... */
export function controlPlaneHostname(i: number): string {
  return i === 0 ? CONTROL_PLANE_HOSTNAME : `${CONTROL_PLANE_HOSTNAME}-${i + 1}`;
}

/** The load balancer in front of the API servers of a cluster with several control planes. */
export const LOAD_BALANCER_HOSTNAME = 'kube-lb';

export function networkName(cluster: string): string {
  return `local-cluster-${cluster}`;
}

export function containerName(cluster: string, hostname: string): string {
  return `local-cluster-${cluster}-${hostname}`;
}

/** The command that brings the cluster up, for hints: `local-cluster up --name x` (no flag for the default). */
export function upCommandFor(cluster: string): string {
  return `local-cluster up${cluster === 'local' ? '' : ` --name ${cluster}`}`;
}

/** The admin kubeconfig `up` writes in the cluster's directory under the tool's home. */
export function adminKubeconfigFile(clusterDirectory: string): string {
  return join(clusterDirectory, 'admin.conf');
}

export function kubeContextName(cluster: string): string {
  return `local-cluster-${cluster}`;
}

export function ownerLabels(cluster: string, role: Exclude<ObjectRole, 'test'>, nodeRole?: NodeRole): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.cluster]: cluster,
    [LABELS.role]: role,
    ...(nodeRole ? { [LABELS.nodeRole]: nodeRole } : {}),
  };
}

/** The named volume holding a node's /var (containerd, kubelet, etcd state): kept by `down`. */
export function varVolumeName(cluster: string, hostname: string): string {
  return `local-cluster-${cluster}-${hostname}-var`;
}

/** The image a node's filesystem (minus /var) is committed to after `up`: kept by `down`. */
export function snapshotRef(cluster: string, hostname: string): string {
  return `local-cluster-snapshot/${cluster}:${hostname}`;
}

/** Where the latest quick checks (`local-cluster check`) are kept in the cluster (kube-system), for the dashboard. */
export const CHECKS_CONFIGMAP = 'local-cluster-checks';
