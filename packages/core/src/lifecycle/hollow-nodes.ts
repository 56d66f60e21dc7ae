import { freemem } from 'node:os';
import type { ResolvedConfig } from '../config/schema.js';
import { nthAddress, parseCidr } from '../config/schema.js';
import type { ImageRequirement } from '../contracts/context.js';
import type { NodeSpec } from '../contracts/driver.js';
import { kubernetesProgram } from '../images/kubernetes-programs.js';
import { API_SERVER_PORT, containerName, ownerLabels } from './naming.js';
import type { NodePlan } from './node-plan.js';

/**
 * Kubemark hollow nodes (cluster.hollowNodes): real kubelets of the cluster's version with a
 * fake container runtime, fake cAdvisor and no cgroups or mounts (k8s.io/kubernetes/cmd/kubemark,
 * `--morph=kubelet`), registered with the cluster's own control plane. Many run as processes of
 * one plain, unprivileged container: a hollow kubelet costs about 17-22 MB (measured), and a
 * container per node would add a process tree and a cgroup each. Each gets its own identity
 * through TLS bootstrap with a bootstrap token, as a joining kubelet does (a client certificate
 * for system:node:<name>, approved by the controller manager), so the Node authorizer and
 * NodeRestriction judge it like any node.
 */

/** Kubernetes label and taint of hollow nodes: real workloads stay on real nodes unless they tolerate it. */
export const HOLLOW_LABEL = 'local-cluster.dev/hollow-node';
export const HOLLOW_TAINT = `${HOLLOW_LABEL}=true:NoSchedule`;

/** Hollow kubelets per container. */
export const HOLLOW_PER_CONTAINER = 25;

/** Memory a hollow kubelet takes, with margin: measured 17 MB idle, 22 MB with 10 pods (RssAnon). */
export const HOLLOW_NODE_BYTES = 30 * 2 ** 20;

/** Memory left for the real nodes and the control plane, which serves every hollow node too. */
const RESERVED_BYTES = 3 * 2 ** 30;

/** The bootstrap token's id (6 of [a-z0-9]): fixed, so a restore or a later `up` finds the token in the cluster. */
export const HOLLOW_TOKEN_ID = 'hollow';

export function hollowNodeName(i: number): string {
  return `hollow-node-${i}`;
}

export function hollowContainerHostname(c: number): string {
  return `hollow-nodes-${c}`;
}

/** The node names each container runs: [[hollow-node-1..25], [26..50], ...]. */
export function hollowGroups(count: number, perContainer = HOLLOW_PER_CONTAINER): string[][] {
  const groups: string[][] = [];
  for (let i = 1; i <= count; i += perContainer) {
    groups.push(Array.from({ length: Math.min(perContainer, count - i + 1) }, (_, k) => hollowNodeName(i + k)));
  }
  return groups;
}

/**
 * A hollow container's fixed address, from the top of dind.subnet down (nodes and the load balancer
 * take the bottom, kwok the last usable one): at most 40 containers and 58 nodes, so even a /24 has room.
 */
export function hollowAddress(config: ResolvedConfig, c: number): string {
  const size = 2 ** (32 - parseCidr(config.dind.subnet)!.prefix);
  // the last usable address is the kwok controller's (fake-nodes.ts)
  return nthAddress(config.dind.subnet, size - 3 - c);
}

/** The API server as the hollow kubelets reach it on the cluster network (the load balancer's address with several control planes). */
export function inClusterApiServer(plan: NodePlan): string {
  return `https://${plan.apiEndpointAddress}:${API_SERVER_PORT}`;
}

/**
 * Memory the hollow nodes would take, and whether the machine has it: refused in preflight when
 * they would not fit beside the cluster (`available` defaults to this machine's free memory).
 */
export function hollowMemoryProblem(count: number, available = freemem()): string | undefined {
  if (count === 0) return undefined;
  const needed = count * HOLLOW_NODE_BYTES;
  if (needed + RESERVED_BYTES <= available) return undefined;
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const fits = Math.max(0, Math.floor((available - RESERVED_BYTES) / HOLLOW_NODE_BYTES));
  return `cluster.hollowNodes ${count} needs about ${gib(needed)} GiB (${HOLLOW_NODE_BYTES / 2 ** 20} MiB per hollow kubelet) plus ${gib(RESERVED_BYTES)} GiB for the nodes and the control plane, but this machine has ${gib(available)} GiB free: at most about ${fits} fit`;
}

const ENTRY = '/usr/local/bin/local-cluster-hollow';
const ENV = { names: 'LOCAL_CLUSTER_HOLLOW_NAMES', bootstrap: 'LOCAL_CLUSTER_BOOTSTRAP_KUBECONFIG', flags: 'LOCAL_CLUSTER_HOLLOW_FLAGS' } as const;

/**
 * Starts one hollow kubelet per name, each with its own port, certificate directory and log, and
 * keeps each running (a kubelet that exits is started again after a second, as systemd would).
 */
export const HOLLOW_ENTRYPOINT = `#!/bin/sh
set -eu
mkdir -p /var/lib/hollow /var/log/hollow
printf '%s\\n' "$${ENV.bootstrap}" > /var/lib/hollow/bootstrap.conf
port=10250
for name in $${ENV.names}; do
  mkdir -p /var/lib/hollow/$name
  (
    while :; do
      # shellcheck disable=SC2086
      kubemark --morph=kubelet --name=$name --use-host-image-service=false \\
        --bootstrap-kubeconfig=/var/lib/hollow/bootstrap.conf --kubeconfig=/var/lib/hollow/$name/kubeconfig --cert-dir=/var/lib/hollow/$name \\
        --kubelet-port=$port --kubelet-read-only-port=0 $${ENV.flags} >> /var/log/hollow/$name.log 2>&1 || true
      echo "$(date) exited; starting again" >> /var/log/hollow/$name.log
      sleep 1
    done
  ) &
  port=$((port + 1))
done
echo "started hollow kubelets: $${ENV.names}"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`;

/** The kubemark image of a Kubernetes version, built from k8s.io/kubernetes/cmd/kubemark by the image factory. */
export function kubemarkImage(version: string): ImageRequirement {
  return {
    ref: `docker.io/local-cluster/kubemark:${version}`,
    recipe: {
      go: [kubernetesProgram(version, 'cmd/kubemark', 'kubemark')],
      shell: true,
      files: [{ path: ENTRY, content: HOLLOW_ENTRYPOINT, mode: 0o755 }],
      entrypoint: [ENTRY],
    },
    loadIntoNodes: false,
  };
}

/** One container of hollow kubelets. */
export function hollowSpec(config: ResolvedConfig, image: string, network: string, c: number, names: readonly string[], bootstrapKubeconfig: string): NodeSpec {
  const cluster = config.cluster.name;
  const hostname = hollowContainerHostname(c);
  return {
    name: containerName(cluster, hostname),
    hostname,
    image,
    network,
    ip: hollowAddress(config, c),
    labels: ownerLabels(cluster, 'hollow-nodes'),
    env: {
      [ENV.names]: names.join(' '),
      [ENV.bootstrap]: bootstrapKubeconfig,
      [ENV.flags]: [`--node-labels=${HOLLOW_LABEL}=true`, `--register-with-taints=${HOLLOW_TAINT}`].join(' '),
    },
    privileged: false,
  };
}

/** A kubeconfig that authenticates with a bootstrap token (TLS bootstrap), trusting the cluster's CA. */
export function bootstrapKubeconfig(server: string, caData: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: cluster',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: bootstrap',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: bootstrap',
    '  context: {cluster: cluster, user: bootstrap}',
    'current-context: bootstrap',
    '',
  ].join('\n');
}
