import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
