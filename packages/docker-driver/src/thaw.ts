import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '@local-cluster/core';

/**
 * Where a container's cgroups are on this machine, for the cgroupfs and systemd drivers, v1
 * (freezer controller) and v2 (unified). Missing paths (a remote engine) are simply absent.
 */
export function containerCgroupDirs(containerId: string, root = '/sys/fs/cgroup'): string[] {
  const places = (base: string) => [join(base, 'docker', containerId), join(base, 'system.slice', `docker-${containerId}.scope`)];
  return [...places(join(root, 'freezer')), ...places(root), ...places(join(root, 'unified'))];
}

async function read(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
}

/**
 * Thaws every frozen cgroup under a container's (the node's nested runc can leave its
 * containers' cgroups FROZEN; the engine then never gets the exit event and cannot remove the
 * node). Top-down, best effort; returns how many cgroups it thawed.
 */
export async function thawContainerCgroups(containerId: string, root = '/sys/fs/cgroup'): Promise<number> {
  let thawed = 0;
  const walk = async (dir: string): Promise<void> => {
    const v1 = await read(join(dir, 'freezer.state'));
    if (v1 !== undefined && v1 !== 'THAWED') {
      await writeFile(join(dir, 'freezer.state'), 'THAWED').then(() => (thawed += 1), () => undefined);
    }
    if ((await read(join(dir, 'cgroup.freeze'))) === '1') {
      await writeFile(join(dir, 'cgroup.freeze'), '0').then(() => (thawed += 1), () => undefined);
    }
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await walk(join(dir, entry.name));
  };
  for (const dir of containerCgroupDirs(containerId, root)) await walk(dir);
  return thawed;
}

/** The engine's answer when a container's processes did not die on SIGKILL (a frozen cgroup holds them). */
export function isStuckKill(error: unknown): boolean {
  return /did not receive an exit event|could not kill running container/i.test(String((error as Error)?.message ?? error));
}

/**
 * Removes a container (`remove`), thawing its cgroups first and again each time the engine could
 * not kill it: a node's nested runc freezes a container's cgroup while it changes its device
 * rules (cgroup v1), so a node removed while its kubelet starts a pod can be left with a cgroup
 * FROZEN after the thaw that came before the kill. Gives up after `attempts`.
 */
export async function removeThawing<T>(containerId: string, remove: () => Promise<T>, options: { root?: string; attempts?: number; delayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    await thawContainerCgroups(containerId, options.root).catch(() => 0);
    try {
      return await remove();
    } catch (error) {
      if (attempt >= attempts || !isStuckKill(error)) throw error;
      await sleep(options.delayMs ?? 500);
    }
  }
}
