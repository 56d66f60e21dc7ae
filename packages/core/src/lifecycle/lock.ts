import { join } from 'node:path';
import { LocalClusterError } from '../errors.js';
import { withLockFile, type LockHolder } from '../lock-file.js';

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
export function withClusterLock<T>(home: string, cluster: string, command: string, run: () => Promise<T>): Promise<T> {
  const file = lockFile(home, cluster);
  const refuse = async (holder: LockHolder): Promise<never> => {
    const seconds = Math.round((Date.now() - Date.parse(holder.startedAt)) / 1000);
    throw new LocalClusterError(`Cluster "${cluster}" is busy: \`${holder.command}\` (pid ${holder.pid}) has been running for ${seconds} s.`, {
      hint: `Wait for it to finish, or stop it (Ctrl-C there rolls back what it made). The lock is ${file}.`,
    });
  };
  return withLockFile(file, command, refuse, run);
}
