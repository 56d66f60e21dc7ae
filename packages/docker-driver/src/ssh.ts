import { Agent as HttpAgent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';

/**
 * An HTTP agent whose connections are `docker system dial-stdio` channels of ssh connections to
 * the engine's machine (what the docker CLI does for ssh:// hosts). docker-modem's own ssh mode
 * opens a new ssh connection and a new dial-stdio for every request (about 0.4 s each, most of
 * it the docker CLI starting on the far side); here the ssh connections are kept, and so are the
 * channels between requests (HTTP keep-alive), so a request costs one round trip. A connection
 * carries up to MAX_CHANNELS channels (OpenSSH allows 10 sessions per connection), more open
 * another. Only connections with a request in flight keep the process alive.
 */
const MAX_CHANNELS = 8;

interface Pooled {
  client: Client;
  ready: Promise<Client>;
  /** Channels open (in use or kept free). */
  channels: number;
  /** Requests in flight. */
  busy: number;
}

export class SshDialAgent extends HttpAgent {
  readonly #config: ConnectConfig;
  #pool: Pooled[] = [];
  /** The connection each channel runs over, and whether a request holds it. */
  readonly #owner = new WeakMap<Duplex, { entry: Pooled; busy: boolean }>();
  /**
   * One channel opened ahead: a hijacked request (exec, attach) takes its channel for good, and
   * the next request would wait for a new dial-stdio to start on the far side.
   */
  #spare: Promise<{ channel: Duplex; entry: Pooled } | undefined> | undefined;

  constructor(config: ConnectConfig) {
    super({ keepAlive: true, maxFreeSockets: MAX_CHANNELS });
    this.#config = config;
  }

  #open(): Pooled {
    const client = new Client();
    const entry: Pooled = {
      client,
      channels: 0,
      busy: 0,
      ready: new Promise<Client>((resolve, reject) => {
        client.once('ready', () => resolve(client));
        client.on('error', (error) => {
          this.#drop(entry);
          reject(error);
        });
        client.once('close', () => this.#drop(entry));
      }),
    };
    // a rejection nobody awaits yet (the first caller does) must not crash the process
    entry.ready.catch(() => undefined);
    client.connect(this.#config);
    this.#pool.push(entry);
    return entry;
  }

  #drop(entry: Pooled): void {
    this.#pool = this.#pool.filter((e) => e !== entry);
  }

  /** The ssh socket is referenced only while a request is in flight on it. */
  #busy(entry: Pooled, delta: number): void {
    entry.busy += delta;
    const socket = (entry.client as unknown as { _sock?: { ref?(): void; unref?(): void } })._sock;
    if (entry.busy > 0) socket?.ref?.();
    else socket?.unref?.();
  }

  #mark(stream: Duplex, busy: boolean): void {
    const owner = this.#owner.get(stream);
    if (!owner || owner.busy === busy) return;
    owner.busy = busy;
    this.#busy(owner.entry, busy ? +1 : -1);
  }

  override createConnection(_options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | undefined {
    const done = (error: Error | null, stream?: Duplex) => callback?.(error, stream as Duplex);
    const spare = this.#spare;
    this.#spare = undefined;
    const fresh = () =>
      this.#channel().then(
        ({ channel }) => {
          this.#prepare();
          done(null, channel);
        },
        (error: Error) => done(error),
      );
    if (!spare) {
      void fresh();
      return undefined;
    }
    spare.then((ready) => {
      if (!ready || ready.channel.destroyed) return fresh();
      this.#mark(ready.channel, true);
      this.#prepare();
      done(null, ready.channel);
      return undefined;
    }, fresh);
    return undefined;
  }

  /** Opens the spare channel (held by nobody: it keeps no process alive). */
  #prepare(): void {
    if (this.#spare) return;
    const spare = this.#channel().then(
      (ready) => {
        this.#mark(ready.channel, false);
        return ready;
      },
      () => undefined,
    );
    this.#spare = spare;
  }

  /** A new dial-stdio channel, counted busy. */
  #channel(): Promise<{ channel: Duplex; entry: Pooled }> {
    return new Promise((resolve, reject) => this.#dial(resolve, reject));
  }

  #dial(resolve: (ready: { channel: Duplex; entry: Pooled }) => void, reject: (error: Error) => void): void {
    const done = (error: Error | null, stream?: Duplex) => (error ? reject(error) : resolve({ channel: stream!, entry }));
    const entry = this.#pool.find((e) => e.channels < MAX_CHANNELS) ?? this.#open();
    // counted before the channel opens, so parallel requests spread over connections
    entry.channels += 1;
    this.#busy(entry, +1);
    const fail = (error: Error) => {
      entry.channels -= 1;
      this.#busy(entry, -1);
      done(error);
    };
    void entry.ready.then(
      (client) =>
        client.exec('docker system dial-stdio', (error, stream) => {
          if (error) return fail(error);
          const channel = stream as unknown as Duplex;
          this.#owner.set(channel, { entry, busy: true });
          channel.once('close', () => {
            this.#mark(channel, false);
            entry.channels -= 1;
          });
          // http sets these on sockets; a channel has no socket options
          const socketLike = channel as unknown as Record<string, unknown>;
          for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) socketLike[name] ??= () => channel;
          done(null, channel);
        }),
      fail,
    );
  }

  /** A channel back in the free list holds nothing. */
  override keepSocketAlive(socket: Duplex): boolean {
    this.#mark(socket, false);
    return true;
  }

  override reuseSocket(socket: Duplex, _request: ClientRequest): void {
    this.#mark(socket, true);
  }

  override destroy(): void {
    this.#spare = undefined;
    for (const entry of this.#pool) entry.client.end();
    this.#pool = [];
    super.destroy();
  }
}
