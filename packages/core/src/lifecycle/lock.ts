import { join } from 'node:path';
import { LocalClusterError } from '../errors.js';
import { held, releaseLock, tryTakeLock } from '../lock-file.js';

export type { LockHolder } from '../lock-file.js';

export function lockFile(home: string, cluster: string): string {
  // beside, not inside, the cluster's directory: `clean` removes that
  return join(home, 'locks', `${cluster}.lock`);
}

/**
 * One command per cluster at a time: `up`, `reup`, `down` and `clean` of a cluster hold its lock,
 * and a second one refuses, naming the command that runs (so `clean` cannot pull nodes out from
 * under an `up` and leave them unkillable). A lock whose process is gone is taken over.
 */
export async function withClusterLock<T>(home: string, cluster: string, command: string, run: () => Promise<T>): Promise<T> {
  const file = lockFile(home, cluster);
  if (held.has(file)) held.set(file, held.get(file)! + 1);
  else {
    const holder = tryTakeLock(file, command);
    if (holder) {
      const seconds = Math.round((Date.now() - Date.parse(holder.startedAt)) / 1000);
      throw new LocalClusterError(`Cluster "${cluster}" is busy: \`${holder.command}\` (pid ${holder.pid}) has been running for ${seconds} s.`, {
        hint: `Wait for it to finish, or stop it (Ctrl-C there rolls back what it made). The lock is ${file}.`,
      });
    }
  }
  try {
    return await run();
  } finally {
    releaseLock(file);
  }
}

