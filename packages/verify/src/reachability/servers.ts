import { AGNHOST_TOOLS, BUSYBOX_TOOLS, type ProbeTools } from './probe.js';

/** The test servers' ports: GET /hostname over HTTP, and (agnhost netexec) `hostname` over UDP. */
export const HTTP_PORT = 8080;
export const UDP_PORT = 8081;
/** On hostNetwork pods (the node's own ports): well away from the kubelet's and NodePorts. */
export const HOSTNET_HTTP_PORT = 18080;
export const HOSTNET_UDP_PORT = 18081;
/** Ports nothing listens on, for negative controls. */
export const CLOSED_PORT = 8090;
export const HOSTNET_CLOSED_PORT = 18090;

export interface ServerPodOptions {
  namespace?: string;
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  /** false: no readiness probe (Ready once running), for pods behind NetworkPolicies that may not exempt the kubelet's probes. */
  readiness?: boolean;
}

/**
 * The image targets and sources run: a server pod answers GET /hostname with its
 * hostname (the pod's name; the node's on the host network) on HTTP_PORT
 * (HOSTNET_HTTP_PORT), and it can run `tools`' probes.
 */
export interface ServerImage {
  image: string;
  tools: ProbeTools;
  pod(name: string, node: string, options?: ServerPodOptions): object;
}

/** A pod pinned to one node by name (spread by node name, not by the scheduler's luck), ready once its HTTP port listens. */
function pinnedPod(name: string, node: string, container: Record<string, unknown>, httpPort: number, options: ServerPodOptions & { readinessPort?: number; gracePeriod?: number }): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}), labels: { 'netcheck-role': options.hostNetwork ? 'hostnet' : 'server', ...options.labels } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [{ operator: 'Exists' }],
      terminationGracePeriodSeconds: options.gracePeriod ?? 0,
      ...(options.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
      containers: [
        {
          ...container,
          imagePullPolicy: 'Never',
          ...(options.readiness === false ? {} : { readinessProbe: { tcpSocket: { port: options.readinessPort ?? httpPort }, periodSeconds: 1 } }),
        },
      ],
    },
  };
}

/** An agnhost netexec pod (HTTP and UDP); `args` go to netexec (e.g. `--delay-shutdown=60`). */
export function netexecPod(
  name: string,
  node: string,
  image: string,
  options: ServerPodOptions & { args?: string[]; readinessPort?: number; gracePeriod?: number } = {},
): object {
  const http = options.hostNetwork ? HOSTNET_HTTP_PORT : HTTP_PORT;
  const udp = options.hostNetwork ? HOSTNET_UDP_PORT : UDP_PORT;
  const container = {
    name: 'netexec',
    image,
    args: ['netexec', `--http-port=${http}`, `--udp-port=${udp}`, ...(options.args ?? [])],
    ports: [
      { containerPort: http, protocol: 'TCP' },
      { containerPort: udp, protocol: 'UDP' },
    ],
  };
  return pinnedPod(name, node, container, http, options);
}

/** agnhost netexec servers, probed with curl, netcat and dig: what `netcheck` runs. */
export function agnhostServer(image: string): ServerImage {
  return { image, tools: AGNHOST_TOOLS, pod: (name, node, options) => netexecPod(name, node, image, options) };
}

/** busybox httpd servers of the toolbox image every node preloads, probed with wget (HTTP only): what the quick checks run. */
export function toolboxServer(image: string): ServerImage {
  return {
    image,
    tools: BUSYBOX_TOOLS,
    pod(name, node, options = {}) {
      const http = options.hostNetwork ? HOSTNET_HTTP_PORT : HTTP_PORT;
      const container = {
        name: 'httpd',
        image,
        command: ['sh', '-c', `mkdir -p /www && hostname > /www/hostname && exec httpd -f -p ${http} -h /www`],
        ports: [{ containerPort: http, protocol: 'TCP' }],
      };
      return pinnedPod(name, node, container, http, options);
    },
  };
}
