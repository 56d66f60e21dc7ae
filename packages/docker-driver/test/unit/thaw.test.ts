import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStuckKill, removeThawing, thawContainerCgroups } from '../../src/thaw.js';

describe('thawContainerCgroups', () => {
  it('thaws every frozen cgroup under the container (v1 freezer and v2 cgroup.freeze), and nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-cgroup-'));
    const id = 'abc123';
    const v1 = join(root, 'freezer', 'docker', id);
    const inner = join(v1, 'kubepods', 'pod1', 'c1');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(v1, 'freezer.state'), 'THAWED\n');
    writeFileSync(join(v1, 'kubepods', 'freezer.state'), 'THAWED\n');
    writeFileSync(join(v1, 'kubepods', 'pod1', 'freezer.state'), 'FREEZING\n');
    writeFileSync(join(inner, 'freezer.state'), 'FROZEN\n');
    const v2 = join(root, 'system.slice', `docker-${id}.scope`, 'inner');
    mkdirSync(v2, { recursive: true });
    writeFileSync(join(v2, 'cgroup.freeze'), '1\n');
    // another container's frozen cgroup is not ours
    const other = join(root, 'freezer', 'docker', 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'freezer.state'), 'FROZEN\n');

    expect(await thawContainerCgroups(id, root)).toBe(3);
    expect(readFileSync(join(inner, 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(readFileSync(join(v1, 'kubepods', 'pod1', 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(readFileSync(join(v2, 'cgroup.freeze'), 'utf8')).toBe('0');
    expect(readFileSync(join(other, 'freezer.state'), 'utf8')).toBe('FROZEN\n');
  });

  it('does nothing for a container whose cgroups are not on this machine (a remote engine)', async () => {
    expect(await thawContainerCgroups('nope', mkdtempSync(join(tmpdir(), 'lc-cgroup-')))).toBe(0);
  });
});

describe('removeThawing', () => {
  const stuck = 'remove node local-cluster-x-kube-node-2: Could not kill running container 968b, cannot remove - tried to kill container, but did not receive an exit event';

  it('thaws again and retries when the kill found a cgroup frozen after the first thaw', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-cgroup-'));
    const pod = join(root, 'freezer', 'docker', 'abc', 'kubepods', 'c1');
    mkdirSync(pod, { recursive: true });
    writeFileSync(join(pod, 'freezer.state'), 'THAWED\n');
    const seen: string[] = [];
    const removed = await removeThawing(
      'abc',
      async () => {
        seen.push(readFileSync(join(pod, 'freezer.state'), 'utf8').trim());
        if (seen.length === 1) {
          // the nested runc froze it while the engine was killing the node
          writeFileSync(join(pod, 'freezer.state'), 'FROZEN\n');
          throw new Error(stuck);
        }
        return 'gone';
      },
      { root, delayMs: 1 },
    );
    expect(removed).toBe('gone');
    expect(seen).toEqual(['THAWED', 'THAWED']);
  });

  it('passes other errors on at once, and a kill that never succeeds after the attempts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-cgroup-'));
    let calls = 0;
    await expect(removeThawing('abc', async () => { calls++; throw new Error('no such container'); }, { root, delayMs: 1 })).rejects.toThrow('no such container');
    expect(calls).toBe(1);
    calls = 0;
    await expect(removeThawing('abc', async () => { calls++; throw new Error(stuck); }, { root, delayMs: 1, attempts: 3 })).rejects.toThrow(/did not receive an exit event/);
    expect(calls).toBe(3);
    expect(isStuckKill(new Error('permission denied'))).toBe(false);
  });
});
