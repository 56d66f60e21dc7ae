import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import type { ResolvedConfig } from '../config/schema.js';
import type { ImageRequirement } from '../contracts/context.js';
import { LABELS, type NodeSpec } from '../contracts/driver.js';
import { LocalClusterError } from '../errors.js';
import { componentFlags } from './kubeadm-config.js';
import { API_SERVER_PORT, CONTROL_PLANE_HOSTNAME, containerName, ownerLabels } from './naming.js';
import type { NodePlan } from './node-plan.js';

/**
 * Services mode (node e2e's "services mode", cluster.mode: services): etcd, kube-apiserver and
 * the API-only controllers of kube-controller-manager in ONE small unprivileged container: no
 * kubeadm run, no kubelet, no CNI, no nodes. Certificates and kubeconfigs come from `kubeadm init
 * phase certs/kubeconfig` inside the container at its first start (offline, ECDSA, under a
 * second); the container is named and addressed like a control plane (kube-master, .2 of
 * dind.subnet), so kubectl, status, export logs and down treat it as the cluster's control plane.
 */

/** Label on the services container (and how every command tells the mode of a running cluster). */
export const MODE_LABEL = 'dev.local-cluster.mode';

/** The binaries the services image carries, from the node image's Kubernetes build. */
export const SERVICES_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubeadm', 'kubectl'] as const;

/**
 * The controllers that need no nodes: namespace deletion, the default ServiceAccount and the
 * kube-root-ca.crt ConfigMap in every namespace (the upstream e2e framework waits for both),
 * legacy token Secrets, cascading deletion, aggregated ClusterRoles (admin/edit/view) and quotas.
 */
export const SERVICES_CONTROLLERS = [
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'garbage-collector-controller',
  'clusterrole-aggregation-controller',
  'resourcequota-controller',
];

const ENTRY = '/usr/local/bin/local-cluster-services';
const ENV = {
  kubeadm: 'LOCAL_CLUSTER_KUBEADM_CONFIG',
  etcd: 'LOCAL_CLUSTER_ETCD_ARGS',
  apiServer: 'LOCAL_CLUSTER_APISERVER_ARGS',
  controllerManager: 'LOCAL_CLUSTER_CONTROLLER_MANAGER_ARGS',
} as const;

/**
 * The container's entrypoint (busybox sh). Certificates are made once (kept in the container's
 * filesystem, so an engine restart brings the same cluster back); each component gets its flags
 * from the environment, one per line. The controller manager starts after the API server is ready
 * and the admin group is bound (what `kubeadm init` does in its upload-config phase): started
 * earlier it exits on the missing RBAC bootstrap roles. Any component exiting stops the container
 * (the restart policy starts it again).
 */
export const SERVICES_ENTRYPOINT = `#!/bin/sh
set -eu
K=/etc/kubernetes
L=/var/log/local-cluster
mkdir -p $L /var/lib/etcd
if [ ! -f $K/admin.conf ]; then
  mkdir -p $K/pki
  printf '%s\\n' "$${ENV.kubeadm}" > $K/kubeadm.yaml
  for c in ca apiserver sa; do kubeadm init phase certs $c --config $K/kubeadm.yaml >/dev/null; done
  for k in admin super-admin controller-manager; do kubeadm init phase kubeconfig $k --config $K/kubeadm.yaml >/dev/null; done
  echo "certificates and kubeconfigs made"
fi
pids=""
stop() { kill $pids 2>/dev/null || true; wait; exit "$1"; }
trap 'stop 0' TERM INT
# any component that exited stops the container (its restart policy starts it again)
check() {
  for p in $pids; do
    if ! kill -0 $p 2>/dev/null; then echo "a component exited (pid $p):"; tail -n 20 $L/*.log; stop 1; fi
  done
}
start() {
  name=$1; shift
  "$name" "$@" > $L/$name.log 2>&1 &
  pids="$pids $!"
}
IFS='
'
start etcd $${ENV.etcd}
start kube-apiserver $${ENV.apiServer}
unset IFS
until kubectl --kubeconfig=$K/super-admin.conf get --raw /readyz >/dev/null 2>&1; do check; sleep 0.2; done
echo "API server ready"
kubectl --kubeconfig=$K/super-admin.conf get clusterrolebinding kubeadm:cluster-admins >/dev/null 2>&1 ||
  kubectl --kubeconfig=$K/super-admin.conf create clusterrolebinding kubeadm:cluster-admins --clusterrole=cluster-admin --group=kubeadm:cluster-admins >/dev/null
IFS='
'
start kube-controller-manager $${ENV.controllerManager}
unset IFS
echo "controller manager started"
while :; do check; sleep 1; done
`;

/** sha256 of a file, remembered next to it by size and mtime (the binaries are 100 MB each). */
async function fileSha256(path: string, memoDir: string): Promise<string> {
  const st = statSync(path);
  const memo = join(memoDir, createHash('sha256').update(path).digest('hex').slice(0, 16) + '.json');
  try {
    const saved = JSON.parse(await readFile(memo, 'utf8')) as { size: number; mtimeMs: number; sha256: string };
    if (saved.size === st.size && saved.mtimeMs === st.mtimeMs) return saved.sha256;
  } catch {
    // not remembered yet
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  await mkdir(memoDir, { recursive: true });
  await writeFile(memo, JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, sha256 }));
  return sha256;
}

/**
 * The services image of a Kubernetes version: busybox, the five binaries (the node image's own
 * build, so the same version and overrides) and the entrypoint, built by the image factory.
 */
export async function servicesImage(version: string, binaries: Record<string, string>, cacheDir: string): Promise<ImageRequirement> {
  const files = [];
  for (const name of SERVICES_BINARIES) {
    // etcd is built beside the Kubernetes binaries (it has no override of its own)
    const path = binaries[name] ?? join(dirname(binaries['kube-apiserver'] ?? binaries.kubeadm ?? ''), name);
    if (!existsSync(path)) throw new LocalClusterError(`Services mode needs ${name}, which the Kubernetes ${version} build did not provide (${path}).`, { hint: 'Run `local-cluster reup` to build the binaries again.' });
    files.push({ path: `/usr/local/bin/${name}`, source: path, sha256: await fileSha256(path, join(cacheDir, 'services-sums')), mode: 0o755 });
  }
  return {
    ref: `docker.io/local-cluster/services:${version}`,
    recipe: {
      shell: true,
      files: [...files, { path: ENTRY, content: SERVICES_ENTRYPOINT, mode: 0o755 }],
      entrypoint: [ENTRY],
    },
    loadIntoNodes: false,
  };
}

/** `--flag=value` lines, one per flag (values may hold commas and equals signs). */
function flagLines(flags: Record<string, string>): string {
  return Object.entries(flags)
    .map(([k, v]) => `--${k}=${v}`)
    .join('\n');
}

/** The address of the services container: the first control plane's in the plan (.2 of dind.subnet). */
export function servicesAddress(plan: NodePlan): string {
  return plan.nodes[0]!.address;
}

/** What the container needs to know, as environment: the kubeadm config for the certificates and each component's flags. */
export function servicesEnv(config: ResolvedConfig, plan: NodePlan, apiServerAddress: string): Record<string, string> {
  const ip = servicesAddress(plan);
  const pki = '/etc/kubernetes/pki';
  const kubeadm = [
    { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration', localAPIEndpoint: { advertiseAddress: ip, bindPort: API_SERVER_PORT }, nodeRegistration: { name: CONTROL_PLANE_HOSTNAME } },
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: config.cluster.name,
      // explicit: kubeadm never asks the network for a version
      kubernetesVersion: config.source.kubernetesVersion,
      // fast key generation: all certificates in well under a second
      encryptionAlgorithm: 'ECDSA-P256',
      controlPlaneEndpoint: `${ip}:${API_SERVER_PORT}`,
      networking: { serviceSubnet: config.cluster.serviceSubnet, dnsDomain: 'cluster.local' },
      apiServer: { certSANs: [...new Set(['localhost', '127.0.0.1', CONTROL_PLANE_HOSTNAME, ip, apiServerAddress])] },
    },
  ];
  const etcd = {
    name: CONTROL_PLANE_HOSTNAME,
    'data-dir': '/var/lib/etcd',
    // loopback only, in the same container: no TLS needed
    'listen-client-urls': 'http://127.0.0.1:2379',
    'advertise-client-urls': 'http://127.0.0.1:2379',
    'listen-peer-urls': 'http://127.0.0.1:2380',
    'initial-advertise-peer-urls': 'http://127.0.0.1:2380',
    'initial-cluster': `${CONTROL_PLANE_HOSTNAME}=http://127.0.0.1:2380`,
    'listen-metrics-urls': 'http://127.0.0.1:2381',
  };
  const apiServer = {
    'etcd-servers': 'http://127.0.0.1:2379',
    'secure-port': String(API_SERVER_PORT),
    'advertise-address': ip,
    'client-ca-file': `${pki}/ca.crt`,
    'tls-cert-file': `${pki}/apiserver.crt`,
    'tls-private-key-file': `${pki}/apiserver.key`,
    'service-account-issuer': 'https://kubernetes.default.svc.cluster.local',
    'service-account-key-file': `${pki}/sa.pub`,
    'service-account-signing-key-file': `${pki}/sa.key`,
    'service-cluster-ip-range': config.cluster.serviceSubnet,
    'authorization-mode': 'Node,RBAC',
    'allow-privileged': 'true',
    'enable-admission-plugins': 'NodeRestriction',
    ...componentFlags(config, 'apiServer'),
  };
  const controllerManager = {
    kubeconfig: '/etc/kubernetes/controller-manager.conf',
    controllers: SERVICES_CONTROLLERS.join(','),
    'service-account-private-key-file': `${pki}/sa.key`,
    'root-ca-file': `${pki}/ca.crt`,
    'use-service-account-credentials': 'true',
    'leader-elect': 'false',
    'bind-address': '127.0.0.1',
    ...componentFlags(config, 'controllerManager'),
  };
  return {
    [ENV.kubeadm]: kubeadm.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n'),
    [ENV.etcd]: flagLines(etcd),
    [ENV.apiServer]: flagLines(apiServer),
    [ENV.controllerManager]: flagLines(controllerManager),
  };
}

/** The services container: the control plane's name and address, the API port published like a node cluster's. */
export function servicesSpec(config: ResolvedConfig, plan: NodePlan, image: string, network: string, hostPort: number, listen: string, apiServerAddress: string, configHash: string): NodeSpec {
  const cluster = config.cluster.name;
  return {
    name: containerName(cluster, CONTROL_PLANE_HOSTNAME),
    hostname: CONTROL_PLANE_HOSTNAME,
    image,
    network,
    ip: servicesAddress(plan),
    labels: { ...ownerLabels(cluster, 'node', 'control-plane'), [MODE_LABEL]: 'services', [LABELS.configHash]: configHash },
    env: servicesEnv(config, plan, apiServerAddress),
    ports: [{ containerPort: API_SERVER_PORT, hostIp: listen, hostPort }],
    privileged: false,
  };
}

/** Whether a cluster's control-plane container runs services mode. */
export function isServicesNode(labels: Readonly<Record<string, string>>): boolean {
  return labels[MODE_LABEL] === 'services';
}
