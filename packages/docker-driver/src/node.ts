import type { Readable } from 'node:stream';
import {
  DriverError,
  ExecError,
  LABELS,
  type CallOptions,
  type ExecOptions,
  type ExecResult,
  type NodeHandle,
  type NodeRole,
} from '@local-cluster/core';
import type Dockerode from 'dockerode';
import { call, type DockerContext } from './api.js';
import { copyIn, copyOut } from './copy.js';
import { demuxBuffer } from './demux.js';
import { runInContainer } from './exec.js';

/** A handle on one node container; every method goes to the engine, nothing is cached but identity. */

type NodeState = Awaited<ReturnType<NodeHandle['state']>>;

const STATES = new Set<NodeState>(['running', 'exited', 'created', 'paused']);

export function parseNodeRole(value: string | undefined): NodeRole | undefined {
  return value === 'control-plane' || value === 'worker' ? value : undefined;
}

export function toNodeState(status: string | undefined): NodeState {
  return STATES.has(status as NodeState) ? (status as NodeState) : 'unknown';
}

/** Engine status codes that mean "already in the wanted state". */
const NOT_MODIFIED = 304;

export class DockerNode implements NodeHandle {
  readonly id: string;
  readonly name: string;
  readonly hostname: string;
  readonly cluster: string;
  readonly role: NodeRole | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  /** The state when this handle was made (for listings; state() asks again). */
  readonly observedState: NodeState;
  /** The network the node was created on, where its address is read. */
  private readonly network: string | undefined;

  constructor(
    private readonly ctx: DockerContext,
    info: Dockerode.ContainerInspectInfo,
  ) {
    this.id = info.Id;
    this.name = info.Name.replace(/^\//, '');
    this.hostname = info.Config.Hostname;
    this.labels = Object.freeze({ ...(info.Config.Labels ?? {}) });
    this.cluster = this.labels[LABELS.cluster] ?? '';
    this.role = parseNodeRole(this.labels[LABELS.nodeRole]);
    this.image = info.Config.Image;
    this.network = info.HostConfig.NetworkMode;
    this.observedState = toNodeState(info.State.Status);
  }

  private get container(): Dockerode.Container {
    return this.ctx.docker.getContainer(this.id);
  }

  private inspect(operation: string, signal: AbortSignal | undefined): Promise<Dockerode.ContainerInspectInfo> {
    return call(this.ctx, `${operation} of node ${this.name}`, signal, () => this.container.inspect({ abortSignal: signal }));
  }

  async ip(options: CallOptions = {}): Promise<string> {
    const info = await this.inspect('read the address', options.signal);
    const networks = info.NetworkSettings.Networks ?? {};
    const address =
      (this.network !== undefined ? networks[this.network]?.IPAddress : undefined) ||
      Object.values(networks).find((n) => n.IPAddress)?.IPAddress;
    if (!address) {
      throw new DriverError(`read the address of node ${this.name}`, 'the node has no IPv4 address', {
        hint: `Is it running? (state: ${info.State.Status})`,
      });
    }
    return address;
  }

  async ip6(options: CallOptions = {}): Promise<string | undefined> {
    const info = await this.inspect('read the IPv6 address', options.signal);
    const networks = info.NetworkSettings.Networks ?? {};
    return (
      (this.network !== undefined ? networks[this.network]?.GlobalIPv6Address : undefined) ||
      Object.values(networks).find((n) => n.GlobalIPv6Address)?.GlobalIPv6Address ||
      undefined
    );
  }

  async state(options: CallOptions = {}): Promise<NodeState> {
    return toNodeState((await this.inspect('read the state', options.signal)).State.Status);
  }

  run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return runInContainer(this.ctx, this.id, this.name, argv, options);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.run(argv, options);
    if (result.exitCode !== 0) throw new ExecError({ node: this.name, argv, ...result });
    return result;
  }

  copyIn(destDir: string, tar: Readable, options: CallOptions = {}): Promise<void> {
    return copyIn(this.ctx, this.id, this.name, destDir, tar, options.signal);
  }

  copyOut(path: string, options: CallOptions = {}): Promise<Readable> {
    return copyOut(this.ctx, this.id, this.name, path, options.signal);
  }

  async start(options: CallOptions = {}): Promise<void> {
    try {
      await call(this.ctx, `start node ${this.name}`, options.signal, () => this.container.start({ abortSignal: options.signal }));
    } catch (error) {
      if ((error as DriverError).statusCode !== NOT_MODIFIED) throw error;
    }
  }

  async stop(options: CallOptions & { timeoutSeconds?: number } = {}): Promise<void> {
    const { signal, timeoutSeconds } = options;
    try {
      await call(this.ctx, `stop node ${this.name}`, signal, () =>
        this.container.stop({ ...(timeoutSeconds !== undefined ? { t: timeoutSeconds } : {}), abortSignal: signal }),
      );
    } catch (error) {
      if ((error as DriverError).statusCode !== NOT_MODIFIED) throw error;
    }
  }

  async logs(options: CallOptions = {}): Promise<string> {
    const { signal } = options;
    const raw = await call(this.ctx, `read the log of node ${this.name}`, signal, () =>
      this.container.logs({ stdout: true, stderr: true, follow: false, abortSignal: signal }),
    );
    const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
    return Buffer.concat(demuxBuffer(buffer).map((frame) => frame.payload)).toString('utf8');
  }

  async hostPort(containerPort: number, options: CallOptions = {}): Promise<number | undefined> {
    const info = await this.inspect('read the published ports', options.signal);
    type Bindings = Record<string, { HostIp: string; HostPort: string }[] | null>;
    const live = (info.NetworkSettings.Ports ?? {}) as Bindings;
    // a stopped container publishes nothing: its configured bindings (a fixed port) say where it will
    const configured = ((info.HostConfig as { PortBindings?: Bindings } | undefined)?.PortBindings ?? {}) as Bindings;
    const pick = (ports: Bindings) => (ports[`${containerPort}/tcp`] ?? ports[`${containerPort}/udp`] ?? []).filter((b) => b.HostPort !== '' && b.HostPort !== '0');
    const bindings = pick(live).length ? pick(live) : pick(configured);
    // Prefer the IPv4 binding; the engine lists one per address family.
    const binding = bindings.find((b) => !b.HostIp.includes(':')) ?? bindings[0];
    return binding ? Number(binding.HostPort) : undefined;
  }
}
