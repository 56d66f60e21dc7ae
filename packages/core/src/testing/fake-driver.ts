import { Readable } from 'node:stream';
import { DRIVER_API_VERSION, LABELS, type CallOptions, type Driver, type EngineLocation, type ExecOptions, type ExecResult, type ImageInfo, type NetworkInfo, type NodeHandle, type NodeRole, type NodeSpec, type Selector, type VolumeInfo } from '../contracts/driver.js';
import { ExecError } from '../errors.js';

/**
 * A Driver over an in-memory engine, for unit tests of everything that drives one (the paths of
 * `up`, teardown, plugins' node work): networks, containers, images and volumes are records, a
 * node's commands go to `onExec`, and every call is logged. Milliseconds instead of a real engine;
 * the real-engine tests check what only a real engine can show.
 */

/** A node container in the fake engine. */
export interface FakeContainer {
  id: string;
  spec: NodeSpec;
  state: 'running' | 'exited' | 'created';
  ip: string;
  /** containerPort -> host port. */
  ports: Map<number, number>;
}

/** What a node answers to a command; undefined: exit 0 with no output. */
export type FakeExec = (node: FakeContainer, argv: readonly string[], options: ExecOptions) => ExecResult | string | undefined | Promise<ExecResult | string | undefined>;

export interface FakeDriverOptions {
  /** Answers the nodes' commands. */
  onExec?: FakeExec;
  /** Where the engine is (a remote one makes `up` read the API through kubectl on the node). */
  location?: EngineLocation;
  cgroupVersion?: 1 | 2;
}

export interface FakeDriver extends Driver {
  readonly containers: Map<string, FakeContainer>;
  readonly networks: Map<string, NetworkInfo>;
  readonly imageStore: Map<string, ImageInfo>;
  readonly volumeStore: Map<string, VolumeInfo>;
  /** Every call, as `method arg` (e.g. `createNode kube-master`, `exec kube-master kubeadm init ...`). */
  readonly calls: string[];
  /** Puts a container into the engine as if an earlier run had made it. */
  addContainer(spec: NodeSpec, state?: FakeContainer['state']): FakeContainer;
  addImage(ref: string, labels: Record<string, string>): ImageInfo;
}

function matches(labels: Record<string, string>, selector: Selector): boolean {
  if (selector.cluster !== undefined && labels[LABELS.cluster] !== selector.cluster) return false;
  if (selector.role !== undefined && labels[LABELS.role] !== selector.role) return false;
  return Object.entries(selector.labels ?? {}).every(([k, v]) => labels[k] === v);
}

export function fakeDriver(options: FakeDriverOptions = {}): FakeDriver {
  const containers = new Map<string, FakeContainer>();
  const networks = new Map<string, NetworkInfo>();
  const imageStore = new Map<string, ImageInfo>();
  const volumeStore = new Map<string, VolumeInfo>();
  const calls: string[] = [];
  let ids = 0;
  let nextPort = 40000;
  const nextId = () => `fake${(ids += 1).toString().padStart(4, '0')}`;
  const aborted = (o?: CallOptions) => {
    if (o?.signal?.aborted) throw o.signal.reason;
  };

  const addressOn = (network: string | undefined, index: number): string => {
    const subnet = network ? networks.get(network)?.subnets[0] : undefined;
    const base = (subnet ?? '172.30.0.0/16').split('/')[0]!.split('.').map(Number);
    return `${base[0]}.${base[1]}.${base[2]}.${index + 2}`;
  };

  const handle = (c: FakeContainer): NodeHandle => {
    const exec = async (argv: readonly string[], o: ExecOptions = {}): Promise<ExecResult> => {
      aborted(o);
      calls.push(`exec ${c.spec.hostname} ${argv.join(' ')}`);
      if (c.state !== 'running') return { stdout: '', stderr: `container ${c.spec.name} is not running`, exitCode: 126 };
      const answer = await options.onExec?.(c, argv, o);
      if (answer === undefined) return { stdout: '', stderr: '', exitCode: 0 };
      return typeof answer === 'string' ? { stdout: answer, stderr: '', exitCode: 0 } : answer;
    };
    return {
      id: c.id,
      name: c.spec.name,
      hostname: c.spec.hostname,
      cluster: c.spec.labels[LABELS.cluster] ?? '',
      role: c.spec.labels[LABELS.nodeRole] as NodeRole | undefined,
      labels: c.spec.labels,
      image: c.spec.image,
      ip: async () => c.ip,
      state: async () => c.state,
      run: exec,
      exec: async (argv, o) => {
        const r = await exec(argv, o);
        if (r.exitCode !== 0) throw new ExecError({ node: c.spec.hostname, argv, ...r });
        return r;
      },
      copyIn: async () => undefined,
      copyOut: async () => Readable.from([]),
      start: async (o) => {
        aborted(o);
        calls.push(`start ${c.spec.hostname}`);
        c.state = 'running';
      },
      stop: async (o) => {
        aborted(o);
        calls.push(`stop ${c.spec.hostname}`);
        c.state = 'exited';
      },
      logs: async () => '',
      hostPort: async (port) => (c.state === 'running' ? c.ports.get(port) : undefined),
    };
  };

  const addContainer = (spec: NodeSpec, state: FakeContainer['state'] = 'running'): FakeContainer => {
    const taken = [...containers.values()].filter((c) => c.spec.network === spec.network).length;
    const ports = new Map((spec.ports ?? []).map((p) => [p.containerPort, p.hostPort || (nextPort += 1)]));
    const c: FakeContainer = { id: nextId(), spec, state, ip: spec.ip ?? addressOn(spec.network, taken), ports };
    containers.set(spec.name, c);
    return c;
  };
  const addImage = (ref: string, labels: Record<string, string>): ImageInfo => {
    const info: ImageInfo = { id: `sha256:${nextId()}`, tags: [ref], labels, size: 1 };
    imageStore.set(ref, info);
    return info;
  };

  const driver: FakeDriver = {
    apiVersion: DRIVER_API_VERSION,
    name: 'fake',
    ...(options.location ? { location: options.location } : {}),
    containers,
    networks,
    imageStore,
    volumeStore,
    calls,
    addContainer,
    addImage,
    async info() {
      return { driver: 'fake', endpoint: options.location?.endpoint ?? 'memory', engineVersion: '0', apiVersion: '0', os: 'fake', cgroupVersion: options.cgroupVersion ?? 1, rootless: false, securityMode: 'capabilities' };
    },
    async createNetwork(spec, o) {
      aborted(o);
      calls.push(`createNetwork ${spec.name}`);
      if (networks.has(spec.name)) throw new Error(`network ${spec.name} exists`);
      const info: NetworkInfo = { id: nextId(), name: spec.name, subnets: [spec.subnet], labels: spec.labels };
      networks.set(spec.name, info);
      return info;
    },
    async listNetworks(selector) {
      return [...networks.values()].filter((n) => matches(n.labels, selector));
    },
    async listAllNetworks() {
      return [...networks.values()];
    },
    async removeNetwork(name, selector) {
      calls.push(`removeNetwork ${name}`);
      const n = networks.get(name);
      if (n && matches(n.labels, selector)) networks.delete(name);
    },
    async createNode(spec, o) {
      aborted(o);
      calls.push(`createNode ${spec.hostname}`);
      if (containers.has(spec.name)) throw new Error(`container ${spec.name} exists`);
      return handle(addContainer(spec));
    },
    async listNodes(selector) {
      return [...containers.values()].filter((c) => matches(c.spec.labels, selector)).map(handle);
    },
    async removeNodes(nodes) {
      for (const n of nodes) {
        calls.push(`removeNode ${n.hostname}`);
        containers.delete(n.name);
      }
    },
    images: {
      has: async (ref) => imageStore.has(ref),
      inspect: async (ref) => imageStore.get(ref),
      importRootfs: async (_tar, ref, config) => addImage(ref, config.labels),
      load: async () => undefined,
      save: async () => Readable.from([]),
      commit: async (node, ref, labels) => {
        calls.push(`commit ${node.hostname} ${ref}`);
        return addImage(ref, labels);
      },
      list: async (selector) => [...imageStore.values()].filter((i) => matches(i.labels, selector)),
      remove: async (ref, selector) => {
        const found = [...imageStore.entries()].find(([tag, i]) => (tag === ref || i.id === ref) && matches(i.labels, selector));
        if (found) imageStore.delete(found[0]);
      },
    },
    volumes: {
      create: async (name, labels) => {
        calls.push(`createVolume ${name}`);
        const info = { name, labels };
        volumeStore.set(name, info);
        return info;
      },
      list: async (selector) => [...volumeStore.values()].filter((v) => matches(v.labels, selector)),
      remove: async (name, selector) => {
        const v = volumeStore.get(name);
        if (v && matches(v.labels, selector)) volumeStore.delete(name);
      },
    },
    // everything in the fake engine is ours (the real driver's labels carry managed=true)
    async labelsOf(kind, name) {
      const labels = kind === 'container' ? containers.get(name)?.spec.labels : volumeStore.get(name)?.labels;
      return labels && { [LABELS.managed]: 'true', ...labels };
    },
    async connectNetwork(network, container, o) {
      aborted(o);
      calls.push(`connectNetwork ${network} ${container}${o?.ip ? ` ${o.ip}` : ''}`);
      if (!containers.has(container)) throw new Error(`no container ${container}`);
      if (!networks.has(network)) throw new Error(`no network ${network}`);
      return o?.ip ?? '10.0.0.254';
    },
    async listClusters() {
      const names = new Set([...containers.values()].map((c) => c.spec.labels[LABELS.cluster]).filter((n): n is string => Boolean(n)));
      return [...names].map((name) => ({
        name,
        nodes: [...containers.values()].filter((c) => c.spec.labels[LABELS.cluster] === name).map((c) => ({ name: c.spec.name, hostname: c.spec.hostname, role: c.spec.labels[LABELS.nodeRole] as NodeRole | undefined, state: c.state })),
        networks: [...networks.values()].filter((n) => n.labels[LABELS.cluster] === name).map((n) => n.name),
        volumes: [...volumeStore.values()].filter((v) => v.labels[LABELS.cluster] === name).length,
        snapshots: [...imageStore.values()].filter((i) => i.labels[LABELS.cluster] === name && i.labels[LABELS.role] === 'snapshot').length,
      }));
    },
  };
  return driver;
}
