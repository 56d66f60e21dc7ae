import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalClusterError } from '../errors.js';

/** What a lock file says about the command holding it. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

/** Locks held by this process, by file: re-entrant (createCluster's up, then its clean). */
const held = new Map<string, number>();

export function lockFile(home: string, cluster: string): string {
  // beside, not inside, the cluster's directory: `clean` removes that
  return join(home, 'locks', `${cluster}.lock`);
}

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

function release(file: string): void {
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
 * One command per cluster at a time: `up`, `reup`, `down` and `clean` of a cluster hold its lock,
 * and a second one refuses, naming the command that runs (so `clean` cannot pull nodes out from
 * under an `up` and leave them unkillable). A lock whose process is gone is taken over.
 */
export async function withClusterLock<T>(home: string, cluster: string, command: string, run: () => Promise<T>): Promise<T> {
  const file = lockFile(home, cluster);
  if (held.has(file)) {
    held.set(file, held.get(file)! + 1);
  } else {
    mkdirSync(join(home, 'locks'), { recursive: true });
    for (let attempt = 0; ; attempt += 1) {
      try {
        const fd = openSync(file, 'wx', 0o644);
        const me: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
        writeSync(fd, JSON.stringify(me));
        closeSync(fd);
        held.set(file, 1);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw e;
        const holder = readHolder(file);
        if (holder && holder.host === hostname() && alive(holder.pid)) {
          const seconds = Math.round((Date.now() - Date.parse(holder.startedAt)) / 1000);
          throw new LocalClusterError(`Cluster "${cluster}" is busy: \`${holder.command}\` (pid ${holder.pid}) has been running for ${seconds} s.`, {
            hint: `Wait for it to finish, or stop it (Ctrl-C there rolls back what it made). The lock is ${file}.`,
          });
        }
        // its process is gone (or the file is half-written by a racing command: try again)
        if (holder) {
          try {
            unlinkSync(file);
          } catch {
            // taken by another
          }
        } else await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  try {
    return await run();
  } finally {
    release(file);
  }
}
