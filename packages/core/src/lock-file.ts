import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { sleep } from './nodeutil.js';

/** What a lock file says about the command holding it. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

/** Locks held by this process, by file: re-entrant (createCluster's up, then its clean). */
const held = new Map<string, number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Removes the lock file if this process wrote it. */
function removeIfOurs(file: string): void {
  if (readHolder(file)?.pid !== process.pid) return;
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}

function releaseLock(file: string): void {
  const depth = (held.get(file) ?? 1) - 1;
  if (depth > 0) {
    held.set(file, depth);
    return;
  }
  held.delete(file);
  removeIfOurs(file);
}

process.once('exit', () => {
  for (const file of held.keys()) removeIfOurs(file);
});

/**
 * Takes a lock file for this process. Returns undefined when taken, or the holder when a live
 * process on this machine holds it. A lock whose process is gone is taken over.
 */
function tryTakeLock(file: string, command: string): LockHolder | undefined {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      const me: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      held.set(file, 1);
      return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw e;
      const holder = readHolder(file);
      if (holder && holder.host === hostname() && alive(holder.pid)) return holder;
      // its process is gone (or the file is half-written by a racing command: try again)
      if (holder) {
        try {
          unlinkSync(file);
        } catch {
          // taken by another
        }
      } else sleepSync(50);
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `run` holding the lock file, re-entrant within this process. While another live process
 * holds it, `whenHeld` decides: throw to refuse, or resolve to try again.
 */
export async function withLockFile<T>(file: string, command: string, whenHeld: (holder: LockHolder) => Promise<void>, run: () => Promise<T>): Promise<T> {
  if (held.has(file)) held.set(file, held.get(file)! + 1);
  else for (let holder = tryTakeLock(file, command); holder; holder = tryTakeLock(file, command)) await whenHeld(holder);
  try {
    return await run();
  } finally {
    releaseLock(file);
  }
}

/**
 * Runs `run` holding the lock file, waiting (polling once a second) while another live process
 * holds it: two commands that need one image build it once, the second finding it built.
 */
export function withWaitingLock<T>(file: string, command: string, options: { signal: AbortSignal; onWait: (holder: LockHolder) => void }, run: () => Promise<T>): Promise<T> {
  let told = false;
  const wait = async (holder: LockHolder) => {
    if (!told) options.onWait(holder);
    told = true;
    await sleep(1000, options.signal);
  };
  return withLockFile(file, command, wait, run);
}
