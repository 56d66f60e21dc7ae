import type { Readable } from 'node:stream';

/**
 * The Driver contract: what the engine needs from a container runtime. It stops
 * short of Kubernetes: it knows networks, node containers, images and volumes,
 * and nothing about kubeadm. Every object it creates carries ownership labels,
 * and every list/remove selects by them.
 */

export const DRIVER_API_VERSION = 'local-cluster.dev/driver/v1' as const;

/** Ownership labels put on every object the project creates. */
export const LABELS = {
  /** Marks an object as created by local-cluster. Value: "true". */
  managed: 'dev.local-cluster.managed',
  /** The cluster name the object belongs to. */
  cluster: 'dev.local-cluster.cluster',
  /** What the object is for: node, load-balancer, network, volume, snapshot, image. */
  role: 'dev.local-cluster.role',
  /** Node role: control-plane or worker. */
  nodeRole: 'dev.local-cluster.node-role',
  /** Hash of the config a snapshot or image was made from. */
  configHash: 'dev.local-cluster.config-hash',
  /** Hash of the recipe (and toolchain) an image was built from by the image factory. */
  recipeHash: 'dev.local-cluster.recipe-hash',
  /** On nodes: the cluster's CNI plugin, and whether it enforces NetworkPolicy ("true"/"false"). */
  cni: 'dev.local-cluster.cni',
  networkPolicy: 'dev.local-cluster.network-policy',
  /** A network several clusters share (dind.network): its name, on the network and on every container of those clusters. */
  sharedNetwork: 'dev.local-cluster.shared-network',
  /** On containers of a cluster on a shared network: its address block there (dind.subnet). */
  block: 'dev.local-cluster.block',
} as const;

/**
 * `load-balancer`: the API server proxy of a cluster with several control planes (not a Kubernetes node);
 * `hollow-nodes`: a container of kubemark hollow kubelets; `fake-nodes`: the kwok controller faking nodes;
 * `node-e2e`: the node-image container `e2e-node` runs the node e2e suite in (its own kubelet, removed after the run);
 * `registry`: the local registry's container and volume, one per engine, shared by every cluster that asks (no cluster label).
 */
export type ObjectRole = 'node' | 'load-balancer' | 'hollow-nodes' | 'fake-nodes' | 'node-e2e' | 'registry' | 'network' | 'volume' | 'snapshot' | 'image' | 'test';

/** Select objects by label. `cluster` undefined means every cluster. */
export interface Selector {
  cluster?: string;
  role?: ObjectRole;
  /** Extra labels that must all match. */
  labels?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface DriverInfo {
  driver: string;
  /** Where the engine was reached, e.g. unix:///var/run/docker.sock. */
  endpoint: string;
  engineVersion: string;
  apiVersion: string;
  os: string;
  /** 1 or 2. */
  cgroupVersion: 1 | 2;
  rootless: boolean;
  /** Whether the engine accepts privileged containers; probed only when securityMode is privileged (undefined otherwise). */
  privilegedSupported?: boolean;
  /** The mode node containers will use: privileged, or the capability fallback. */
  securityMode: 'privileged' | 'capabilities';
}

export interface NetworkSpec {
  name: string;
  subnet: string;
  gateway?: string;
  /** An IPv6 range as well (a dual-stack network): the engine's EnableIPv6. */
  subnet6?: string;
  labels: Record<string, string>;
}

export interface NetworkInfo {
  id: string;
  name: string;
  subnets: string[];
  labels: Record<string, string>;
}

export interface PortMapping {
  containerPort: number;
  /** 0 or undefined: let the engine choose. */
  hostPort?: number;
  hostIp?: string;
  protocol?: 'tcp' | 'udp';
}

export interface Mount {
  /** Named volume (created if missing) or, with `type: 'bind'`, a host path. */
  source?: string;
  target: string;
  type: 'volume' | 'bind' | 'tmpfs';
  readOnly?: boolean;
}

export interface NodeSpec {
  /** Container name, unique on the engine. */
  name: string;
  /** Hostname inside the container; also a DNS alias on the network. */
  hostname: string;
  image: string;
  network?: string;
  /** Fixed IP on the network, if wanted. */
  ip?: string;
  /** Fixed IPv6 address on the network (a network with an IPv6 range), if wanted. */
  ip6?: string;
  labels: Record<string, string>;
  env?: Record<string, string>;
  mounts?: Mount[];
  ports?: PortMapping[];
  /** Run as a Kubernetes node (systemd, cgroups, privileges); false for plain test containers. */
  privileged?: boolean;
  /** Capabilities beyond NODE_CAPABILITIES a node needs (its CNI plugin's nodeCapabilities). */
  capabilities?: readonly string[];
  /** Command override (argv). */
  cmd?: string[];
  entrypoint?: string[];
}

export interface ExecOptions extends CallOptions {
  stdin?: string | Uint8Array | Readable;
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type NodeRole = 'control-plane' | 'worker';

/** A handle on one node container. Helpers in core are plain functions over handles. */
export interface NodeHandle {
  readonly id: string;
  /** Container name on the engine. */
  readonly name: string;
  /** Hostname inside the cluster (kube-master, kube-node-1, ...). */
  readonly hostname: string;
  readonly cluster: string;
  readonly role: NodeRole | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** The image the container was created from (a node image, or a node's snapshot), if the driver knows it. */
  readonly image?: string;
  /** The container's IPv4 address on the cluster network. */
  ip(options?: CallOptions): Promise<string>;
  /** The container's IPv6 address on the cluster network, when that network has an IPv6 range. */
  ip6?(options?: CallOptions): Promise<string | undefined>;
  state(options?: CallOptions): Promise<'running' | 'exited' | 'created' | 'paused' | 'unknown'>;
  /** Runs argv; resolves with the result whatever the exit code. */
  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs argv; throws ExecError (argv, exit code, output) on a non-zero exit. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Extracts a tar stream into `destDir`. */
  copyIn(destDir: string, tar: Readable, options?: CallOptions): Promise<void>;
  /** A tar stream of `path`. */
  copyOut(path: string, options?: CallOptions): Promise<Readable>;
  start(options?: CallOptions): Promise<void>;
  stop(options?: CallOptions & { timeoutSeconds?: number }): Promise<void>;
  /** The container's combined log so far. */
  logs(options?: CallOptions): Promise<string>;
  /** Host port bound to a container port, if published. */
  hostPort(containerPort: number, options?: CallOptions): Promise<number | undefined>;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  size: number;
}

export interface ImageOps {
  has(ref: string, options?: CallOptions): Promise<boolean>;
  inspect(ref: string, options?: CallOptions): Promise<ImageInfo | undefined>;
  /** `docker import`: a rootfs tar stream becomes an image. */
  importRootfs(
    tar: Readable,
    ref: string,
    config: { labels: Record<string, string>; entrypoint?: string[]; cmd?: string[]; env?: Record<string, string>; stopSignal?: string; workdir?: string },
    options?: CallOptions,
  ): Promise<ImageInfo>;
  /** `docker load` of a docker-archive tar; the image is tagged only once it is complete. */
  load(tar: Readable, options?: CallOptions): Promise<void>;
  /** `docker tag` + `docker push` (the tag removed again): the image `ref` to a registry as `target` (host[:port]/repo:tag). Optional. */
  push?(ref: string, target: string, options?: CallOptions): Promise<void>;
  /** `docker save` as a stream (a docker-archive tar). */
  save(refs: string[], options?: CallOptions): Promise<Readable>;
  /** `docker commit` a node container into an image (snapshots). */
  commit(node: NodeHandle, ref: string, labels: Record<string, string>, options?: CallOptions): Promise<ImageInfo>;
  list(selector: Selector, options?: CallOptions): Promise<ImageInfo[]>;
  /** Removes an image only if it carries this project's labels for the selector. */
  remove(ref: string, selector: Selector, options?: CallOptions): Promise<void>;
}

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
}

export interface VolumeOps {
  create(name: string, labels: Record<string, string>, options?: CallOptions): Promise<VolumeInfo>;
  list(selector: Selector, options?: CallOptions): Promise<VolumeInfo[]>;
  remove(name: string, selector: Selector, options?: CallOptions): Promise<void>;
}

export interface ClusterSummary {
  name: string;
  nodes: { name: string; hostname: string; role: NodeRole | undefined; state: string }[];
  networks: string[];
  volumes: number;
  snapshots: number;
}

/** Where the engine runs, as seen from this machine. */
export interface EngineLocation {
  /** Where the engine was reached, e.g. tcp://build-box:2376 (for messages). */
  endpoint: string;
  /** Where it was configured (DOCKER_HOST, a Docker context, the default socket), for messages. */
  origin?: string;
  /**
   * True when the engine runs on another machine (tcp or ssh to a host that is not a loopback
   * address): its host paths, ports and node addresses are that machine's, not this one's.
   */
  remote: boolean;
  /** The address this machine reaches ports the engine publishes at: 127.0.0.1, or the engine's host name. */
  address: string;
}

export interface Driver {
  readonly apiVersion: typeof DRIVER_API_VERSION;
  readonly name: string;
  /** Where the engine runs; drivers that leave it out are taken as local (127.0.0.1). */
  readonly location?: EngineLocation;
  /** Reaches the engine; throws EngineUnreachableError when it cannot. */
  info(options?: CallOptions): Promise<DriverInfo>;
  createNetwork(spec: NetworkSpec, options?: CallOptions): Promise<NetworkInfo>;
  listNetworks(selector: Selector, options?: CallOptions): Promise<NetworkInfo[]>;
  /** Every network on the engine (for overlap checks); read-only. */
  listAllNetworks(options?: CallOptions): Promise<NetworkInfo[]>;
  removeNetwork(name: string, selector: Selector, options?: CallOptions): Promise<void>;
  createNode(spec: NodeSpec, options?: CallOptions): Promise<NodeHandle>;
  listNodes(selector: Selector, options?: CallOptions): Promise<NodeHandle[]>;
  /** Force-removes node containers (and their anonymous volumes). */
  removeNodes(nodes: readonly NodeHandle[], options?: CallOptions): Promise<void>;
  readonly images: ImageOps;
  readonly volumes: VolumeOps;
  /** Clusters found through ownership labels. */
  listClusters(options?: CallOptions): Promise<ClusterSummary[]>;
  /**
   * The labels of the container or volume of that name, whoever made it; undefined when there is
   * none. Read-only: lets a preflight tell an object of ours from a stranger's before anything is made.
   */
  labelsOf?(kind: 'container' | 'volume', name: string, options?: CallOptions): Promise<Record<string, string> | undefined>;
  /**
   * Attaches a container of ours (one createNode made: the local registry, a node of another
   * cluster for `connect`) to a network too, reachable there by its name and `aliases`, and
   * resolves to its address there: `ip` when given (nodes take fixed addresses, so a dynamic one
   * could take a node's), else the highest free address of the network's subnet (its own nodes
   * take them from the bottom). Attached already: its address, nothing changed. With `selector`,
   * the network must carry its labels. Removing a network detaches the containers of ours that
   * are not its cluster's. Optional: drivers without it cannot share the registry or `connect`.
   */
  connectNetwork?(network: string, container: string, options?: CallOptions & { aliases?: readonly string[]; ip?: string; selector?: Selector }): Promise<string>;
  close?(): Promise<void>;
}
