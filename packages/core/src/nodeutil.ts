import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { CallOptions, NodeHandle } from './contracts/driver.js';

/** Plain functions over node handles, like kind's nodeutils. */

/** Extracts a tar stream (a node's `copyOut`) into a directory of this machine. */
export function extractTar(tar: Readable, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar: ${err.trim()}`))));
    tar.pipe(child.stdin);
  });
}

/** Writes a file on a node through stdin (no shell quoting of the content). */
export async function writeNodeFile(
  node: NodeHandle,
  path: string,
  content: string,
  options: CallOptions & { mode?: string } = {},
): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  await node.exec(['mkdir', '-p', dir], options);
  await node.exec(['tee', path], { ...options, stdin: content });
  if (options.mode) await node.exec(['chmod', options.mode, path], options);
}

export async function readNodeFile(node: NodeHandle, path: string, options: CallOptions = {}): Promise<string> {
  return (await node.exec(['cat', path], options)).stdout;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (at once if it has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    // the listener goes with the timer: a loop of sleeps on one signal must not pile them up
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `check` until it returns a value, or throws the last error at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
}
