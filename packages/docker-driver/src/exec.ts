import type { Duplex, Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { AbortedError, DriverError, throwIfAborted, type ExecOptions, type ExecResult } from '@local-cluster/core';
import type Dockerode from 'dockerode';
import { call, translateError, type DockerContext } from './api.js';

/**
 * Runs a command in a container over a hijacked connection: stdin is written
 * and then half-closed (so `cat` sees EOF), stdout and stderr are demultiplexed,
 * and the exit code is read from the exec once the stream ends.
 */

class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function envList(env: Record<string, string> | undefined): string[] | undefined {
  return env ? Object.entries(env).map(([key, value]) => `${key}=${value}`) : undefined;
}

function feedStdin(socket: Duplex, stdin: ExecOptions['stdin']): void {
  if (stdin === undefined) socket.end();
  else if (typeof stdin === 'string') socket.end(Buffer.from(stdin, 'utf8'));
  else if (stdin instanceof Uint8Array) socket.end(Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength));
  else {
    (stdin as Readable).on('error', (error) => socket.destroy(error));
    (stdin as Readable).pipe(socket);
  }
}

/** Waits for the hijacked stream to end, or for the signal; output goes to the collectors. */
function pump(
  modem: Dockerode['modem'],
  socket: Duplex,
  stdout: Collector,
  stderr: Collector,
  signal: AbortSignal | undefined,
  operation: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(new AbortedError(operation, { cause: signal?.reason }));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (error?: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    modem.demuxStream(socket, stdout, stderr);
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    // A command that exits without reading all of stdin closes the connection
    // under our writes: that ends the stream, it is not a failure (the exit
    // code says how the command did). `on`, not `once`: it can happen twice.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : error),
    );
  });
}

interface ExecState {
  Running: boolean;
  ExitCode: number | null;
}

export async function runInContainer(
  ctx: DockerContext,
  containerId: string,
  nodeName: string,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const { signal } = options;
  const operation = `run \`${argv.join(' ')}\` on node ${nodeName}`;
  if (argv.length === 0) throw new DriverError(`run a command on node ${nodeName}`, 'the command (argv) is empty');
  const exec = await call(ctx, operation, signal, () =>
    ctx.docker.getContainer(containerId).exec({
      Cmd: [...argv],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: envList(options.env),
      User: options.user,
      WorkingDir: options.workdir,
      abortSignal: signal,
    }),
  );
  const socket = (await call(ctx, operation, signal, () =>
    exec.start({ hijack: true, stdin: true, abortSignal: signal }),
  )) as Duplex;
  const stdout = new Collector();
  const stderr = new Collector();
  const done = pump(ctx.docker.modem, socket, stdout, stderr, signal, operation);
  feedStdin(socket, options.stdin);
  try {
    await done;
  } catch (error) {
    throw translateError(ctx, operation, error, signal);
  }

  // The stream can end a moment before the engine records the exit code.
  let state: ExecState;
  for (let attempt = 0; ; attempt++) {
    state = (await call(ctx, operation, signal, () => exec.inspect({ abortSignal: signal }))) as ExecState;
    if (!state.Running || attempt >= 100) break;
    await delay(20);
    throwIfAborted(signal, operation);
  }
  return { stdout: stdout.text(), stderr: stderr.text(), exitCode: state.ExitCode ?? -1 };
}
